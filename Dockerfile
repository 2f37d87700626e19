# syntax=docker/dockerfile:1
# Build: docker build -t caseguide .
# Run:   docker run -p 8080:8080 -v caseguide-data:/data caseguide

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The embedded database (FerretDB with SQLite) is pure Go, so the binary is fully static.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/caseguide ./api \
 && mkdir -m 0700 -p /out/data

# Minimal runtime: no shell, no package manager, runs as the unprivileged "nonroot" user (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/caseguide /caseguide
# /data is private to the service's user (0700): it refuses a DATA_DIR that group or others may open.
COPY --from=build --chown=65532:65532 --chmod=0700 /out/data /data
ENV DATA_DIR=/data \
    PORT=8080
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
# The binary checks itself: no shell or curl is needed in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/caseguide", "healthcheck"]
ENTRYPOINT ["/caseguide"]
CMD ["serve"]
