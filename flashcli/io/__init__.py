"""Reading and writing: photos (JPEG/PNG/TIFF/HEIC via :mod:`.imageio`, RAW via :mod:`.raw`,
EXIF via :mod:`.exif`), files written atomically (:mod:`.fsutil`), JSON anyone may have
written (:mod:`.jsonsafe`), and what to say when any of it fails (:mod:`.decodefail`).

Torch-free at import; imports nothing from the layers above (``docs/architecture.md``)."""
