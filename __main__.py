"""aws-dr-backup: validated config in, the stack's resources out."""

from components import source, stack

stack.build(source.load())
