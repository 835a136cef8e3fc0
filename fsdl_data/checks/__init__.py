"""Asset checks, one module per asset group, named `<asset>_<rule>`.

Each check is partitioned like its asset, so it reads only its own partition; the rules
themselves live in fsdl_data.core.tables.quality.
"""
