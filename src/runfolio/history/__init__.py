"""A key's history: comparing two versions, numbers across versions, and downloads.

    values.py   artifact data as the history sees it: tables as columns and rows, numbers
    diff.py     what changed between two versions (one entry point, one model per kind)
    textdiff.py markdown and other text: lines, and the words changed within them
    tablediff.py tables: rows matched on a key column, changed cells
    jsondiff.py anything else: a structural diff of the JSON
    trends.py   numeric series across a key's versions (progress, table cells, metadata)
    export.py   one artifact in its natural file format; a key's history as a zip

Pure functions over decoded data: the UI, its JSON twins and the CLI share them.
"""
