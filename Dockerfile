# syntax=docker/dockerfile:1
# Build: docker build -t caseguide .   (.dockerignore keeps ./data, keys and binaries out of the context)
# Run:   docker run -d --name caseguide --stop-timeout 30 -p 8080:8080 -v caseguide-data:/data caseguide
#        --stop-timeout (compose: stop_grace_period; Kubernetes: terminationGracePeriodSeconds) must be
#        at least SHUTDOWN_TIMEOUT (20s by default) so in-flight requests finish before SIGKILL.
# Users: docker exec -i caseguide /caseguide users list   (attaches to the running service's database)
# The volume belongs to uid 65532 (the image's "nonroot" user) with mode 0700; a host folder mounted
# as /data must be too: chown 65532:65532 DIR && chmod 700 DIR.

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
# The binary checks itself (GET /readyz: up and its database answering): no shell or curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/caseguide", "healthcheck"]
# Docker's default stop grace period is 10s, below SHUTDOWN_TIMEOUT: run with --stop-timeout 30.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/caseguide"]
CMD ["serve"]
