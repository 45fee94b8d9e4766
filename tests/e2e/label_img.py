#!/usr/bin/env python3
"""label_img.py - image helpers for tests/e2e/61-label-formats.sh, with no
imaging library: PNG read (greyscale/RGB/RGBA, any filter; enough for our
1-bit labels and zpl-renderer-js's output), PGM write, and the checks.

  label_img.py info PNG                      width height bit-depth dpi (pHYs)
  label_img.py crop PNG X Y W H K OUT.pgm     dots X..X+W, Y..Y+H, scaled K times
  label_img.py diff OURS.png THEIRS.png       "DIFF INK": dots that differ in the
                                              overlap, ink dots in OURS
  label_img.py tspl FILE.tspl OUTPREFIX       each label's BITMAP as OUTPREFIXnnnn.pgm;
                                              prints "labels W H" per label
  label_img.py zbar XML EXPECT                zbarimg --xml output vs "FILE<TAB>TN"
                                              lines: prints the files whose Code 128
                                              or QR does not decode to TN
"""
import re
import struct
import sys
import zlib


def png_read(path):
    """(width, height, rows of 0..255 grey values, ppm or None)."""
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError(path + ': not a PNG')
    pos, idat, ppm = 8, b'', None
    w = h = depth = ctype = 0
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        elif kind == b'IDAT':
            idat += body
        elif kind == b'pHYs':
            px, py, unit = struct.unpack('>IIB', body)
            ppm = px if unit == 1 else None
        elif kind == b'IEND':
            break
    chans = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    bpp = max(1, chans * depth // 8)
    stride = (w * chans * depth + 7) // 8
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 2:
            line = bytearray((u + v) & 255 for u, v in zip(line, prev))
            f = 0
        for i in range(stride if f else 0):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        prev = line
        if depth == 1:
            grey = [255 if line[x >> 3] >> (7 - (x & 7)) & 1 else 0 for x in range(w)]
        elif chans == 1:
            grey = list(line[:w])
        else:
            grey = [sum(line[x * chans:x * chans + min(3, chans)]) // min(3, chans)
                    for x in range(w)]
        rows.append(grey)
    return w, h, rows, ppm


def pgm_write(path, rows):
    h, w = len(rows), len(rows[0]) if rows else 0
    with open(path, 'wb') as f:
        f.write(b'P5 %d %d 255\n' % (w, h))
        for r in rows:
            f.write(bytes(r))


def cmd_info(path):
    w, h, _, ppm = png_read(path)
    depth = open(path, 'rb').read()[24]
    dpi = round(ppm * 0.0254) if ppm else 0
    print(w, h, depth, dpi)


def cmd_crop(path, x, y, cw, ch, k, out):
    _, _, rows, _ = png_read(path)
    x, y, cw, ch, k = int(x), int(y), int(cw), int(ch), int(k)
    crop = [r[x:x + cw] for r in rows[y:y + ch]]
    big = []
    for r in crop:
        wide = [v for v in r for _ in range(k)]
        big.extend([wide] * k)
    pgm_write(out, big)


INK = bytes(49 if v < 128 else 48 for v in range(256))  # grey -> '1' ink, '0' paper


def ink_rows(rows, w):
    """each row as an integer, a bit per dot (1: ink), w dots wide"""
    return [int(bytes(r[:w]).translate(INK).ljust(w, b'0') or b'0', 2) for r in rows]


def cmd_diff(ours, theirs):
    w1, h1, a, _ = png_read(ours)
    w2, h2, b, _ = png_read(theirs)
    # ours in full; theirs cut or padded to our size (ours beyond theirs counts as
    # different).  zpl-renderer-js centres the ^PW width across its canvas (at 12
    # dots/mm a 100 mm canvas is 1200 dots, our 300 dpi ^PW 1181): theirs is read
    # from that offset.
    dx = max(0, (w2 - w1) // 2)
    ra = ink_rows(a, w1)
    rb = ink_rows([r[dx:] for r in b[:h1]], w1) + [0] * max(0, h1 - h2)
    ink = sum(bin(x).count('1') for x in ra)
    diff = sum(bin(x ^ y).count('1') for x, y in zip(ra, rb))
    print(diff, ink)


def cmd_tspl(path, prefix):
    data = open(path, 'rb').read()
    n, pos = 0, 0
    size = re.compile(rb'SIZE ([0-9.]+) mm,([0-9.]+) mm\r\n')
    while True:
        m = size.search(data, pos)
        if not m:
            break
        wmm, hmm = float(m.group(1)), float(m.group(2))
        end = data.find(b'PRINT 1\r\n', m.end())
        if end < 0:
            raise ValueError('label %d: no PRINT 1' % n)
        block = data[m.end():end]
        if not block.startswith(b'GAP 2 mm,0 mm\r\nCLS\r\n'):
            raise ValueError('label %d: no GAP, CLS' % n)
        bm = re.match(rb'BITMAP (\d+),(\d+),(\d+),(\d+),0,', block[len(b'GAP 2 mm,0 mm\r\nCLS\r\n'):])
        if not bm:
            raise ValueError('label %d: no BITMAP' % n)
        bx, by, wb, bh = (int(v) for v in bm.groups())
        start = m.end() + len(b'GAP 2 mm,0 mm\r\nCLS\r\n') + bm.end()
        bits = block[start - m.end():start - m.end() + wb * bh]
        if len(bits) != wb * bh or block[start - m.end() + wb * bh:] != b'\r\n':
            raise ValueError('label %d: BITMAP is not %d x %d bytes' % (n, wb, bh))
        dots = lambda mm, dpi: round(mm / 25.4 * dpi)
        # the page at 203 or 300 dpi: whichever the bitmap fits
        dpi = 203 if bx + wb * 8 <= dots(wmm, 203) + 8 and by + bh <= dots(hmm, 203) else 300
        pw, ph = dots(wmm, dpi), dots(hmm, dpi)
        rows = [[255] * pw for _ in range(ph)]
        for yy in range(bh):
            for xb in range(wb):
                v = bits[yy * wb + xb]
                for k in range(8):
                    if not v >> (7 - k) & 1:  # TSPL: a 0 bit prints
                        x = bx + xb * 8 + k
                        if x < pw and by + yy < ph:
                            rows[by + yy][x] = 0
        pgm_write('%s%04d.pgm' % (prefix, n), rows)
        print(n, pw, ph)
        n += 1
        pos = end + len(b'PRINT 1\r\n')
    if pos != len(data):
        raise ValueError('trailing bytes after the last PRINT 1')


def cmd_zbar(xml, expect):
    want = dict(l.rstrip('\n').split('\t') for l in open(expect) if l.strip())
    got = {}
    cur = None
    text = open(xml).read()
    for m in re.finditer(r"<source href='([^']*)'>|<symbol type='([^']*)'[^>]*>"
                         r"\s*<data><!\[CDATA\[([^\]]*)\]\]></data>", text):
        if m.group(1) is not None:
            cur = m.group(1)
            got.setdefault(cur, [])
        else:
            got.setdefault(cur, []).append((m.group(2), m.group(3)))
    bad = 0
    for f, tn in want.items():
        syms = got.get(f, [])
        c128 = [d for t, d in syms if t == 'CODE-128']
        qr = [d for t, d in syms if t == 'QR-Code']
        if tn not in c128 or qr != [tn]:
            print('%s: want %s, got %s' % (f, tn, syms))
            bad += 1
    print('decoded %d of %d' % (len(want) - bad, len(want)))


if __name__ == '__main__':
    cmds = {'info': cmd_info, 'crop': cmd_crop, 'diff': cmd_diff, 'tspl': cmd_tspl,
            'zbar': cmd_zbar}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
