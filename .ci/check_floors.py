"""Fail unless every requirement of pyproject.toml's named groups ("dependencies", or an extra such as "slurm") is
installed at exactly its declared floor: run after `uv pip install --resolution lowest-direct`, it proves the floors
are versions that exist and that the lowest-versions tests ran on them. Usage: check_floors.py GROUP..."""

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
wrong = []
groups = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
for requirement in (r for group in sys.argv[1:] for r in groups[group]):
    name, operator, floor = re.match(r"^([A-Za-z0-9_.-]+)\s*(>=|==)\s*([^,;\s]+)", requirement).groups()
    installed = metadata.version(name).split("+")[0]
    if tuple(map(int, installed.split("."))) != tuple(map(int, floor.split("."))) + (0,) * (
            len(installed.split(".")) - len(floor.split("."))):
        wrong.append(f"{name}: declared {operator}{floor}, installed {installed}")
    else:
        print(f"{name} {installed}")
if wrong:
    sys.exit("the lowest install did not install the declared floors; set them to what it installed:\n  "
             + "\n  ".join(wrong))
