"""The model card: a Hugging Face card rendered from committed files by `package`, shipped in the Bento.

`model_card` renders it (`facts` reads its inputs, `sections` and `limits` write its parts);
`metadata` reads and amends its YAML front matter, and is all the service imports.
"""
