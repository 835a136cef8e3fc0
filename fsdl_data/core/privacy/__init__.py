"""The right to be forgotten: finding one person's (or one photo's) data everywhere and erasing it."""
