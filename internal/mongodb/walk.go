package mongodb

import "context"

// walkProbe is how far past a missing number walkByID looks for more (at +1, +2, +4, ... +2^walkProbe: a
// few reads, each a miss, after every chain read).
const walkProbe = 10

// walkByID calls fn with the documents numbered 1, 2, 3, ... of a chain read one by one with get (a
// read by _id, which the embedded database answers from its index whatever the collection's size),
// in ascending order. Past a missing number it looks further (at doubling distances, then back to the
// first document after the missing stretch), so documents stored after a deleted stretch are read
// too and the caller sees the gap. It returns get's or fn's first error.
func walkByID[T any](ctx context.Context, get func(context.Context, int64) (T, bool, error), fn func(T) error) error {
	seq := int64(1)
	for {
		v, ok, err := get(ctx, seq)
		if err != nil {
			return err
		}
		if ok {
			if err := fn(v); err != nil {
				return err
			}
			seq++
			continue
		}
		found := int64(0)
		for k := range walkProbe + 1 {
			_, ok, err := get(ctx, seq+int64(1)<<k)
			if err != nil {
				return err
			}
			if ok {
				found = seq + int64(1)<<k
				break
			}
		}
		if found == 0 {
			return nil
		}
		for found-1 > seq {
			_, ok, err := get(ctx, found-1)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			found--
		}
		seq = found
	}
}
