"""The course layer: what makes tinytorch a course rather than only a library.

- `registry`: every exercise, declared once beside its check (which module, which component of
  the framework it implements); the tables of modules and components are derived from it.
- `progress`: the outcome of every check (this session, and `progress.json` in a notebook).
- `saving`: a learner's implementation as a Python file that runs on its own.
- `release`: the notice that the course has a newer version of a notebook.

The checks (`tinytorch.checks`) and the learner's framework (`tinytorch.mine`) build on these.
The framework never imports this layer: it offers seams (`tinytorch.seams`) and this layer
decides what goes in them.
"""
