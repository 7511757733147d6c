"""The input layer: every file the product reads from a user or from the service goes through here.

It decides, in one place and the same way for every reader (own-data training
CSVs, the scoring command's shards, the query log that `harvest` and `drift`
read):

- what a file is, by its bytes (`containers`: gzip, bz2, xz, zip, Parquet; `charsets`:
  UTF-8 with or without BOM, UTF-16/32, cp1252), with decompressed size capped;
- which file was meant (`locate`: a path that exists is that file; only a missing one is a glob);
- how its text is laid out (`text`: line ends; `delimiters`: `,` `;` tab `|`);
- which columns and values (`tables`, `jsonlines`): a repeated column name is refused, a
  record that cannot be read costs that record, listed with its line and reason;
- and what became of every record (`accounting`): read, kept, and lost per reason.

The package's `__init__` imports nothing, so a stage depends only on the modules it uses.
"""
