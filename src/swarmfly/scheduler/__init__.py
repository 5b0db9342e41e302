"""The scheduler role: keeps which peers hold which pieces, and tells peers whom to download from.

``state`` is the bookkeeping, ``parents`` the parent choice, ``seeds`` the first source of a new
task (a seed peer, or one peer sent to the source), ``service`` the logic per request,
``handlers`` its HTTP face (``wire/scheduler.py`` is the protocol), ``janitor`` drops silent
hosts, and ``app``/``main`` wire it up.
"""
