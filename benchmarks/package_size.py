"""Benchmark 3: the size of the function's deployment zip, built as the stack builds it.

The file list comes from `infra.compute.function_code_files()` (zip path -> file), the same
function the stack archives, so this measures the artefact `pulumi up` uploads. Compressed
here with zipfile DEFLATED at the default level; Pulumi's own archiver may differ by a few bytes.
"""

from __future__ import annotations

import importlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import TargetResult, section, table

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Our own code (the lambdas package) stays small; the zip also carries the vendored Powertools release
# (infra.compute.VENDORED_DISTRIBUTIONS), reported beside it against Lambda's 50 MB direct-upload limit.
TARGET_BYTES = 50 * 1024
LAMBDA_DIRECT_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024
OWN_CODE_PREFIX = "lambdas/"


@dataclass(frozen=True)
class PackageSize:
    files: int
    uncompressed_bytes: int
    zipped_bytes: int
    source: str  # where the file list came from


def function_code_files() -> tuple[dict[str, Path], str]:
    """The stack's file list if infra exposes it, else the same rule applied here (and say which)."""
    try:
        compute = importlib.import_module("infra.compute")
        files = compute.function_code_files()
    except (ImportError, AttributeError) as err:
        package = PROJECT_DIR / "lambdas"
        paths = [package / "__init__.py", *sorted((package / "inference").rglob("*.py"))]
        files = {path.relative_to(PROJECT_DIR).as_posix(): path for path in paths}
        rule = "lambdas/__init__.py + lambdas/inference/**/*.py"
        return files, f"fallback rule {rule} (infra.compute unavailable: {type(err).__name__}: {err})"
    return dict(files), "infra.compute.function_code_files()"


def build_zip(files: dict[str, Path]) -> bytes:
    """The deployment zip, in memory, entries in sorted order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.write(files[name], arcname=name)
    return buffer.getvalue()


def measure(own_code_only: bool = False) -> PackageSize:
    files, source = function_code_files()
    if own_code_only:
        files = {name: path for name, path in files.items() if name.startswith(OWN_CODE_PREFIX)}
    return PackageSize(
        files=len(files),
        uncompressed_bytes=sum(Path(path).stat().st_size for path in files.values()),
        zipped_bytes=len(build_zip(files)),
        source=source,
    )


def run() -> tuple[str, list[TargetResult]]:
    """Print-ready table and the package-size targets (our code; the whole zip)."""
    own, whole = measure(own_code_only=True), measure()
    rows = [
        (
            label,
            str(size.files),
            f"{size.uncompressed_bytes:,}",
            f"{size.zipped_bytes:,}",
            f"{size.zipped_bytes / 1024:.1f}",
        )
        for label, size in (("our code (lambdas/)", own), ("whole zip (with Powertools)", whole))
    ]
    text = "\n".join(
        [
            section("3. Package size (deployment zip of the inference function)"),
            table(("part", "files", "uncompressed bytes", "zip bytes (DEFLATED)", "zip KB"), rows),
            f"file list: {whole.source}",
        ]
    )
    targets = [
        TargetResult("our code zip size", own.zipped_bytes / 1024, "<=", TARGET_BYTES / 1024, " KB"),
        TargetResult(
            "whole zip size",
            whole.zipped_bytes / 1024 / 1024,
            "<=",
            LAMBDA_DIRECT_UPLOAD_LIMIT_BYTES / 1024 / 1024,
            " MB",
        ),
    ]
    return text, targets
