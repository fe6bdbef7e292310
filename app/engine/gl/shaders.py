"""GLSL from files: `#include "lib/x.glsl"` (each file once), `#define`s from the caller,
compiler messages that name the file and line, and procedural scenes from user files.

Shader files live in the shipped `shaders/` folder and are loaded by name
("passes/composite.frag"). Compile errors raise ShaderError naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from app.engine.core.assets import shaders_dir
from app.engine.core.errors import InputError
from app.engine.gl.objects import GL, Program
from app.engine.gl.runtime import GlRuntime

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')
_VERSION = re.compile(r"^\s*#\s*version\b")
_MESSAGE_AT = re.compile(r"^(\d+):(\d+)\((\d+)\)")  # Mesa: "0:12(5): error: ..."
_NVIDIA_AT = re.compile(r"^(\d+)\((\d+)\)")  # NVIDIA: "0(12) : error ..."
GLSL_VERSION = "#version 330 core"


class ShaderError(InputError):
    """A shader file is missing or does not compile; the message names the file and carries
    the compiler's log."""


class Source:
    """A shader's text after includes and defines, with the files its `#line` numbers refer to."""

    def __init__(self, text: str, files: list[str]) -> None:
        self.text, self.files = text, files

    def explain(self, log: str) -> str:
        """The compiler's log with source-string numbers replaced by file names."""
        lines = []
        for line in log.strip().splitlines():
            m = _MESSAGE_AT.match(line) or _NVIDIA_AT.match(line)
            if m and int(m.group(1)) < len(self.files):
                line = f"{self.files[int(m.group(1))]}:{m.group(2)}:{line[m.end():].lstrip(' :')}"
            lines.append(line)
        return "\n".join(lines)


def _read(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShaderError(f"{label}: shader file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShaderError(f"{label}: cannot read shader ({exc})") from None


def preprocess(text: str, label: str, defines: Mapping[str, object] | None = None,
               root: Path | None = None) -> Source:
    """Expand includes (relative to `root`, the shaders folder) and put `defines` after the
    `#version` line (added if missing). Line numbers in messages stay those of each file."""
    root = root or shaders_dir()
    files = [label]
    seen: set[str] = set()

    def expand(body: str, index: int) -> list[str]:
        out = []
        for number, line in enumerate(body.splitlines(), start=1):
            m = _INCLUDE.match(line)
            if not m:
                out.append(line)
                continue
            name = m.group(1)
            if name in seen:
                out.append(f"// {name} already included")
                continue
            seen.add(name)
            files.append(name)
            child = len(files) - 1
            out.append(f"#line 1 {child}")
            out.extend(expand(_read(root / name, f"{name} (included from {files[index]})"), child))
            out.append(f"#line {number + 1} {index}")
        return out

    lines = expand(text, 0)
    head = [GLSL_VERSION]
    start = 1
    for i, line in enumerate(lines):
        if line.strip() and not line.strip().startswith("//"):
            if _VERSION.match(line):
                head, start = [line], i + 2
                lines = lines[i + 1:]
            break
    for key, value in (defines or {}).items():
        head.append(f"#define {key} {value}" if value is not True else f"#define {key}")
    head.append(f"#line {start} 0")
    return Source("\n".join(head + lines) + "\n", files)


def load(name: str, defines: Mapping[str, object] | None = None) -> Source:
    """The shipped shader `name` (a path under shaders/), preprocessed."""
    root = shaders_dir()
    return preprocess(_read(root / name, f"shaders/{name}"), f"shaders/{name}", defines, root)


def _compile(kind: int, source: Source) -> int:
    shader = GL.glCreateShader(kind)
    GL.glShaderSource(shader, source.text)
    GL.glCompileShader(shader)
    if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
        log = GL.glGetShaderInfoLog(shader)
        GL.glDeleteShader(shader)
        log = log.decode(errors="replace") if isinstance(log, bytes) else str(log)
        raise ShaderError(f"{source.files[0]}: does not compile:\n{source.explain(log)}")
    return shader


def link(runtime: GlRuntime, vertex: Source, fragment: Source) -> Program:
    """Compile and link on the GL thread; ShaderError names the failing file."""
    vs = _compile(GL.GL_VERTEX_SHADER, vertex)
    try:
        fs = _compile(GL.GL_FRAGMENT_SHADER, fragment)
    except ShaderError:
        GL.glDeleteShader(vs)
        raise
    program = GL.glCreateProgram()
    GL.glAttachShader(program, vs)
    GL.glAttachShader(program, fs)
    GL.glLinkProgram(program)
    GL.glDeleteShader(vs)
    GL.glDeleteShader(fs)
    if not GL.glGetProgramiv(program, GL.GL_LINK_STATUS):
        log = GL.glGetProgramInfoLog(program)
        GL.glDeleteProgram(program)
        log = log.decode(errors="replace") if isinstance(log, bytes) else str(log)
        raise ShaderError(f"{fragment.files[0]}: does not link:\n{log.strip()}")
    return Program(runtime, int(program), fragment.files[0])


def program(runtime: GlRuntime, fragment: str, defines: Mapping[str, object] | None = None,
            vertex: str = "lib/fullscreen.vert") -> Program:
    """A program from shipped files: a full-screen pass running `fragment`."""
    return link(runtime, load(vertex), load(fragment, defines))


# -- procedural scenes ------------------------------------------------------------------------
SCENE_UNIFORMS = (("time", "uniform float time;"), ("resolution", "uniform vec2 resolution;"))


def scene_source(text: str, label: str) -> Source:
    """A user's scene shader made whole: `#version 330 core`, the `time` and `resolution`
    uniforms and an `out vec4 fragColor` are added when the file does not declare them."""
    extra = []
    for name, declaration in SCENE_UNIFORMS:
        if not re.search(rf"\buniform\s+\w+\s+{name}\b", text):
            extra.append(declaration)
    if not re.search(r"^\s*(layout\s*\([^)]*\)\s*)?out\s+vec4\s+\w+", text, re.MULTILINE):
        extra.append("out vec4 fragColor;")
    source = preprocess(text, label, None, shaders_dir())
    if extra:  # after the version line and `#line`: keep the user's line numbers
        head, _, rest = source.text.partition("\n#line ")
        source.text = head + "\n" + "\n".join(extra) + "\n#line " + rest
    return source
