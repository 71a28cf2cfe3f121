import argparse

from .server import EmulatorServer


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator", description="Stateful Stripe API emulator")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state", default=None, help="JSON file to persist state to (kept across restarts)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    server = EmulatorServer(port=args.port, host=args.host, state_path=args.state, verbose=args.verbose)
    server.bind()
    print(
        f"stripe-emulator listening on {server.url}" + (f" (state: {args.state})" if args.state else " (in-memory)"),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
