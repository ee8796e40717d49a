// Run pytest inside the site's bundled Pyodide, under Node, with no browser.
//
//   node pyodide_runner.mjs PYODIDE_DIR WHEELS_DIR TESTS_DIR [pytest args...]
//
// PYODIDE_DIR: the built site's static/pyodide/ (its lock knows numpy and tinytorch).
// WHEELS_DIR:  pure-Python wheels (pytest, pluggy, ...) installed with micropip from emfs.
// TESTS_DIR:   a host folder of test files, mounted read-write at /tests.
// Exits with pytest's exit code. Errors print their message only: a stack through the
// minified runtime is a single enormous line.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, wheelsDir, testsDir, ...pytestArgs] = process.argv.slice(2);

async function main() {
  const indexURL = pyodideDir.endsWith("/") ? pyodideDir : pyodideDir + "/";
  const { loadPyodide } = await import(pathToFileURL(join(indexURL, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({ indexURL });
  const quiet = { messageCallback: () => {} };
  // from the site's lock, as its kernel gets them (pygments: a dependency of pytest)
  await pyodide.loadPackage(["micropip", "packaging", "pygments", "numpy", "tinytorch"], quiet);

  pyodide.FS.mkdirTree("/wheels");
  for (const name of readdirSync(wheelsDir).filter((n) => n.endsWith(".whl"))) {
    pyodide.FS.writeFile(`/wheels/${name}`, readFileSync(join(wheelsDir, name)));
  }
  await pyodide.runPythonAsync(`
import os, micropip
for name in sorted(os.listdir("/wheels")):
    await micropip.install("emfs:/wheels/" + name, deps=False)
`);

  pyodide.FS.mkdirTree("/tests");
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: testsDir }, "/tests");
  // as the site's kernel does for a cell: load the lock's packages the tests import
  for (const name of readdirSync(testsDir).filter((n) => n.endsWith(".py"))) {
    await pyodide.loadPackagesFromImports(readFileSync(join(testsDir, name), "utf8"), quiet);
  }
  pyodide.globals.set("pytest_args", pyodide.toPy(pytestArgs));
  // pytest's default fd capture cannot work in Pyodide; the cache plugin wants a writable rootdir
  const code = await pyodide.runPythonAsync(`
import os, sys, pytest
os.makedirs("/tmp/run", exist_ok=True)
os.chdir("/tmp/run")  # scratch files (e.g. .hypothesis/) stay out of the host folder
sys.path.insert(0, "/tests")
int(pytest.main(["/tests", "--capture=sys", "-p", "no:cacheprovider", *pytest_args]))
`);
  return code;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error("pyodide_runner: " + String(error && error.message ? error.message : error));
  process.exitCode = 100;
}
