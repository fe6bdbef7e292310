"""The `backdrop` subcommands, one module each; each has `add_parser(subparsers)` and `run(args)`."""

# Every subcommand's module, in the order `backdrop --help` lists them; none needs a display.
COMMANDS = ("process", "remove", "run", "devices", "backgrounds", "models", "serve", "train")
