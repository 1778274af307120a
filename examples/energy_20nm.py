"""Energy per synaptic and per neuron operation of the seed's 20 nm projection, from rfemu's own
device parameters (rfemu.study.energy.projection_20nm), run in the event engine.

    python examples/energy_20nm.py [--sizes 256 128 10]

The seed projects 10 fJ per synaptic operation and 100 fJ per neuron operation; the last line
printed is one JSON object with rfemu's figures and their ratios to the seed's.
"""
import argparse
import json

from rfemu.study.energy import projection_20nm_report


def main(argv=None):
    ap = argparse.ArgumentParser(description="20 nm projection: energy per operation")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 128, 10])
    ap.add_argument("--samples", type=int, default=5)
    args = ap.parse_args(argv)
    print(json.dumps(projection_20nm_report(tuple(args.sizes), n_samples=args.samples)))


if __name__ == "__main__":
    main()
