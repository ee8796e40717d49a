# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Your progress
#
# Every check you run records its outcome, and every implementation whose check passes is
# saved as a Python file in the folder **`my_tinytorch/`** (in the file browser; locally
# `~/.tinytorch/`, or the folder named by `TINYTORCH_HOME`). Later modules and the milestones
# take your components from there:
#
# ```python
# from tinytorch.mine import Linear, Sequential, SGD   # one line each: yours, or tinytorch's and why
# ```
#
# Yours is used when it is saved and loads; otherwise tinytorch's, with one line saying why
# (not built yet, or your file no longer loads: then it is left exactly as it is, for you to
# fix). Run the cells below to see where you are.

# %%
import tinytorch.mine as mine

mine.progress()

# %% [markdown]
# The same, per module: checks passing out of each module's total.

# %%
import matplotlib.pyplot as plt

rows = mine.progress_rows()
labels = [f"{row['module'][:2]} {row['title']}" for row in rows][::-1]
fig, ax = plt.subplots(figsize=(7, 5))
ax.barh(labels, [row["total"] for row in rows][::-1], color="0.9", label="checks")
ax.barh(labels, [row["passing"] for row in rows][::-1], color="tab:green", label="passing")
ax.set_xlabel("checks")
ax.legend(loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What `from tinytorch.mine import ...` gives you
#
# One line per component: yours (the file it comes from and when it was saved), or
# tinytorch's and why.

# %%
mine.status()

# %% [markdown]
# ## Take your work with you
#
# Run the cell below: it makes **one file with all your work** (your notebooks, the framework
# you built in `my_tinytorch/`, your progress) and shows a link that downloads it as
# `tinytorch-work.zip`. Keep it as a backup, or continue on your own machine: the steps
# printed under the link install this site's tinytorch and write the course's notebooks there
# with your work merged in (`tinytorch course ... --work tinytorch-work.zip`).

# %%
import tinytorch.cli
from tinytorch.platform import handoff_message

display(tinytorch.cli.download_work())
print(handoff_message("progress.ipynb"))

# %% [markdown]
# **Coming back** from your machine (or another browser): there, `tinytorch export` (or the
# link above) makes the same kind of file. Upload it here (the file browser's *Upload* button,
# into the top folder), then run
# `import tinytorch.cli; tinytorch.cli.import_work("tinytorch-work.zip")` in any notebook
# (this one included). A file you changed here after the archive's copy is kept, and listed;
# `overwrite=True` replaces those too. Notebooks opened after that use your components.

# %% [markdown]
# ## Your files
#
# Each saved file is plain Python: your definition, the imports it needs and the helpers it
# calls. Open it from the file browser (`my_tinytorch/Linear.py`, ...), download it, or edit
# it: an edited file is checked again when it is loaded, and if it no longer passes,
# tinytorch's implementation is used and the check's report says what is wrong.
#
# ## Starting over
#
# - **Forget a saved implementation:** `mine.clear("Linear")`; every one: `mine.clear()`.
#   Also forget the recorded check outcomes: `mine.clear(progress=True)`. This deletes only
#   the files tinytorch saved in `my_tinytorch/`; your notebooks and any other file there stay.
# - **Get a notebook's original back:** in the file browser, right-click your copy and
#   *Delete* it (download it first to keep it): the course's original reappears. Your saved
#   implementations in `my_tinytorch/` are not affected.
# - **When the course is updated,** a notebook you have edited keeps showing your copy (the
#   browser keeps it). Its first code cell then says that a newer version exists: rename your
#   copy in the file browser and open the notebook again to get the new one next to yours.
