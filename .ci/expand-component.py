"""Split a GitLab CI/CD component into its `spec:` header and its body, and write the body with
every `$[[ inputs.NAME ]]` replaced by the input's default, as GitLab would expand it for a
consumer that sets no inputs. check-jsonschema then validates both documents.

usage: python3 .ci/expand-component.py templates/deploy.yml OUT_DIR
"""

import json
import re
import sys
from pathlib import Path

from ruamel.yaml import YAML

src, out = Path(sys.argv[1]), Path(sys.argv[2])
text = src.read_text()
header, sep, body = text.partition("\n---\n")
if not sep:
    sys.exit(f"{src}: no `---` between the spec header and the jobs")
spec = YAML(typ="safe").load(header)
inputs = spec["spec"]["inputs"]

placeholder = re.compile(r"\$\[\[\s*inputs\.([a-z_]+)\s*\]\]")


def default(name: str):
    if name not in inputs:
        sys.exit(f"{src}: the body uses inputs.{name}, which spec:inputs does not declare")
    return inputs[name].get("default", "")


def whole(match: re.Match) -> str:
    # A placeholder that is a whole YAML value keeps the input's type (arrays stay arrays).
    value = default(match.group(2))
    rendered = json.dumps(value) if not isinstance(value, str) else value
    return f"{match.group(1)}{rendered}"


body = re.sub(r"^(\s*[\w-]+:\s*)\$\[\[\s*inputs\.([a-z_]+)\s*\]\]\s*$", whole, body, flags=re.M)
body = placeholder.sub(lambda m: str(default(m.group(1))), body)
out.mkdir(parents=True, exist_ok=True)
(out / "spec.yml").write_text(header + "\n")
(out / "body.yml").write_text(body)
print(f"{src}: spec header and expanded body written to {out}")
