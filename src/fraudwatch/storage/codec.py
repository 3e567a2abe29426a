"""Compression of the event log's entries: zstd frames with dictionaries trained on the
log's own entries.

A decision's JSON repeats every feature name, so with a dictionary an entry takes about
230 bytes instead of 2 KB: a commit then writes a few pages to the WAL instead of two or
three per entry, and the file is about a ninth of the size. A frame names its dictionary;
entries written before the first dictionary (or before compression) read as they are.
"""

from __future__ import annotations

import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a JSON text starts with "{": never with this
DICTIONARY_BYTES = 16 * 1024
DICTIONARY_SAMPLES = 2000  # entries the first dictionary is trained on (about 135 ms)
RETRAIN_EVERY = 1_000_000  # entries logged between two dictionaries: events and features change
DICTIONARY_CHECK_EVERY = 1000  # entries a handle appends between two looks for a newer dictionary


class Codec:
    """zstd level 1 with the newest dictionary this handle knows; reads any of them.

    >>> c = Codec()
    >>> [c.decode(frame) for frame in c.encode([b'{"a":1}', b'{}'])], c.decode(b'{"a":1}')
    ([b'{"a":1}', b'{}'], b'{"a":1}')
    """

    def __init__(self):
        self.newest = 0  # dictionary id; 0: none
        self._compressor = zstandard.ZstdCompressor(level=1)
        self._decompressors = {0: zstandard.ZstdDecompressor()}

    def add(self, dictionary_id: int, data: bytes) -> None:
        d = zstandard.ZstdCompressionDict(data)
        self._decompressors[dictionary_id] = zstandard.ZstdDecompressor(dict_data=d)
        if dictionary_id > self.newest:
            self.newest = dictionary_id
            self._compressor = zstandard.ZstdCompressor(level=1, dict_data=d)

    def encode(self, blobs: list[bytes]) -> list[bytes]:
        """All of ``blobs`` in one call: zstd lets go of the GIL in a call and the writer
        thread then waits to get it back, up to the switch interval while the event loop
        runs, so once per commit rather than twice per entry."""
        if all(blobs):  # (the batch call refuses an empty input)
            return [bytes(frame) for frame in self._compressor.multi_compress_to_buffer(blobs)]
        return [self._compressor.compress(b) for b in blobs]

    def decode(self, data: bytes) -> bytes:
        """Raises ``KeyError`` for a frame of a dictionary this handle does not know yet."""
        if data[:4] != ZSTD_MAGIC:
            return data
        return self._decompressors[zstandard.get_frame_parameters(data).dict_id].decompress(data)
