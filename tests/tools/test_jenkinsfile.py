"""The Jenkins example's Jenkinsfile parses as Groovy (groovy and a JDK from Debian's packages: the tools tier)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.skipif(shutil.which("groovy") is None or shutil.which("java") is None,
                    reason="no Groovy parser on this machine")
def test_jenkinsfile_is_valid_groovy(tmp_path: Path) -> None:
    script = tmp_path / "Jenkinsfile.groovy"
    script.write_text((ROOT / "examples" / "jenkins" / "Jenkinsfile").read_text())
    java_home = Path(shutil.which("java") or "").resolve().parents[1]
    result = subprocess.run(["groovy", "-e", f"new GroovyShell().parse(new File('{script}'))"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "JAVA_HOME": str(java_home)})
    assert result.returncode == 0, result.stderr
