"""The course site builder: one module per step of the pipeline that `build.py` runs.

    common          paths, BuildError, log, pinned downloads into .cache/
    notebooks       content/ and milestones/ -> student or solution notebooks, landing page, manifest
    wheel           the tinytorch wheel; rewriting a wheel's files
    pyodide_bundle  the pinned Pyodide: obtain, verify, prune, slim, register wheels in its lock
    in_pyodide      build steps run inside the bundled Pyodide under Node (programs/)
    lite            `jupyter lite build` and the site's JupyterLite configuration
    archive         the offline zip; swapping a finished build into place
    serve           the local HTTP server
    pipeline        build_site: every step in order

`programs/` holds the code that runs inside Pyodide rather than here: the Node runner
(`pyodide_run.mjs`, shared with bench/ and tests/site/), the scripts it runs at build time, and
the `sitecustomize.py` shipped in the site's standard library. ARCHITECTURE.md draws the layers.
"""
