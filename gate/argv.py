"""The raw command line, read where click cannot: kubectl's flag forms, and the options of a line click refused."""

from __future__ import annotations


def kubectl_forms(args: list[str]) -> list[str]:
    """`-o=json`, `-n=shop`, `-f=dir` as kubectl (pflag) reads them: the short option's value after '='.

    Click would read `=json` as the value. Words after `--` are positional and left alone.
    """
    end = args.index("--") if "--" in args else len(args)
    return [f"{arg[:2]}{arg[3:]}" if position < end and len(arg) > 3 and arg[0] == "-" and arg[1].isalpha()
            and arg[2] == "=" else arg for position, arg in enumerate(args)]


def option_value(argv: list[str], long: str, short: str | None = None) -> str | None:
    """The last value given to an option in raw argv (`--junit P`, `--junit=P`, `-o json`, `-ojson`)."""
    value = None
    for position, arg in enumerate(argv):
        if arg in (long, short) and position + 1 < len(argv):
            value = argv[position + 1]
        elif arg.startswith(f"{long}="):
            value = arg[len(long) + 1:]
        elif short and arg.startswith(short) and not arg.startswith("--") and len(arg) > len(short):
            value = arg[len(short):]
    return value


def argv_paths(argv: list[str], *outputs: str | None) -> list[str]:
    """Every word of a command line click could not parse that may name an input (`-fPATH`, `--config=PATH`
    included), less one occurrence of each output path: when the options are unknown, all of them are guarded."""
    words = [part for arg in argv for part in (arg, arg.partition("=")[2], arg[2:] if arg[:1] == "-" else "")
             if part]
    for output in outputs:
        if output in words:
            words.remove(output)
    return words
