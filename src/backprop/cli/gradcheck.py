"""`backprop gradcheck` (placeholder while the command is being written; replaced by its owner)."""


def register(subparsers) -> None:
    return None
