"""A module an attack names by dotted path; importing it at all is the attack succeeding."""

IMPORTED = True


class Anything:
    def __init__(self, *args: object) -> None:
        self.args = args
