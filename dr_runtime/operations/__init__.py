"""Operations jobs that run on a schedule in Lambda and as commands: the watchdog and the coverage report.

Each job module offers ``handler(event, context)`` for Lambda and ``main(argv)`` for ``python -m``.
"""
