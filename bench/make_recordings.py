#!/usr/bin/env python3
"""Audio for the `ser predict` benchmarks (bench/predict_throughput.sh), from the clips of
a demo corpus (`ser demo`, 16 kHz mono 16-bit WAV), with the Python standard library only:

  clips DEMO_DIR OUT_DIR N SECONDS RATE   N clips of SECONDS each (demo clips joined end to
                                           end), written at RATE Hz (16000, or 48000 by
                                           linear interpolation: content is not the point,
                                           the decode + resample cost is)
  recording DEMO_DIR OUT_FILE SECONDS      one 16 kHz recording of SECONDS: clips separated
                                           by 1 s of near-silence
  corpus DEMO_DIR OUT_DIR                  a labelled corpus in the RAVDESS layout, 24 actors x 6
                                           emotions x 8 names = 1152 files (demo clips, each
                                           with one sample changed so that no two are duplicates)
"""
import glob
import os
import random
import struct
import sys
import wave


def demo_clips(demo_dir):
    paths = sorted(glob.glob(os.path.join(demo_dir, "**", "*.wav"), recursive=True))
    if not paths:
        sys.exit(f"make_recordings.py: no .wav files under {demo_dir} (run `ser demo` first)")
    frames = []
    for p in paths:
        with wave.open(p) as w:
            if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
                sys.exit(f"make_recordings.py: {p}: expected 16 kHz mono 16-bit")
            frames.append(w.readframes(w.getnframes()))
    return frames


def write(path, rate, data):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)


def upsample3(data):
    """16 kHz -> 48 kHz, linear interpolation between 16-bit samples."""
    x = struct.unpack(f"<{len(data) // 2}h", data)
    out = []
    for a, b in zip(x, x[1:] + x[-1:]):
        out += [a, (2 * a + b) // 3, (a + 2 * b) // 3]
    return struct.pack(f"<{len(out)}h", *out)


def clips(demo_dir, out_dir, n, seconds, rate):
    pool = demo_clips(demo_dir)
    want = int(seconds * 16000) * 2  # bytes at 16 kHz
    os.makedirs(out_dir, exist_ok=True)
    made = []
    for i in range(min(n, 64)):  # 64 distinct clips, then copies under new names
        data = b""
        j = i
        while len(data) < want:
            data += pool[j % len(pool)]
            j += 7
        data = data[:want]
        made.append(upsample3(data) if rate == 48000 else data)
    for i in range(n):
        write(os.path.join(out_dir, f"clip_{i:05d}.wav"), rate, made[i % len(made)])


def recording(demo_dir, out_file, seconds):
    pool = demo_clips(demo_dir)
    random.seed(1)
    gap = struct.pack("<16000h", *[random.randint(-8, 8) for _ in range(16000)])
    want = int(seconds * 16000) * 2
    parts, size, i = [], 0, 0
    while size < want:
        for piece in (pool[i % len(pool)], gap):
            parts.append(piece)
            size += len(piece)
        i += 1
    write(out_file, 16000, b"".join(parts)[:want])


def corpus(demo_dir, out_dir):
    pool = demo_clips(demo_dir)
    n = 0
    for actor in range(1, 25):
        folder = os.path.join(out_dir, f"Actor_{actor:02d}")
        os.makedirs(folder, exist_ok=True)
        for emotion in (1, 3, 4, 5, 6, 7):
            for intensity in (1, 2):
                for statement in (1, 2):
                    for repetition in (1, 2):
                        data = bytearray(pool[n % len(pool)])
                        data[0:2] = struct.pack("<h", n % 30000)
                        name = f"03-01-{emotion:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-{actor:02d}.wav"
                        write(os.path.join(folder, name), 16000, bytes(data))
                        n += 1


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "clips":
        clips(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))
    elif len(sys.argv) == 4 and sys.argv[1] == "corpus":
        corpus(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "recording":
        recording(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)
