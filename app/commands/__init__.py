"""The `backdrop` subcommands, one module each; each has `add_parser(subparsers)` and `run(args)`."""
