#!/usr/bin/env python
"""Real-browser test of every notebook with a widget (the derivation demos of 01–03, the explorer of 08, ...).

Starts one JupyterLab on 127.0.0.1 with a random token on a copy of the repo's notebooks and package (the copies
lose their `#| slow` cells, as nbdev_test skips them), and drives headless Chromium (/usr/bin/chromium, through
playwright). For each notebook whose code uses ipywidgets: run all cells, check that no cell shows an error and that
every widget rendered, then for each widget move its main control (its first slider) with the keyboard and check
that its plot changed (a screenshot of the plot element, compared before and after). In the explorer, also click
the contour plot and check that the start point moved (the start-x box) and that the plot changed, zoom with the
canvas's toolbar and check that the view changed and the trajectories are still drawn, and print the compute and
draw times the live widget reports. Layout, measured in the DOM for every widget: no control is cut off (its label,
readout, menu text or checkbox text all fit, and it lies inside the widget and overlaps no other control), and no
control is narrower than its label (a slider's track also at least MIN_TRACK px wide). In the explorer, also: every
axis of its figure has a label that lies inside the figure (asked of the live figure in the notebook's kernel), and
after the zoom the canvas's toolbar covers no ink of the figure (the figure under the toolbar, screenshotted with the
toolbar hidden, is blank). Saves screenshots, always stops JupyterLab, and prints one line
starting with `BROWSER TEST PASS` or `BROWSER TEST FAIL`; exit status 0 on pass.

Usage: python tests/browser_test.py [--out DIR] [--repo DIR] [--notebook nbs/08_explorer.ipynb ...]
(the screenshot folder also comes from $BROWSER_TEST_OUT; default: tests/artifacts/browser in this repository).
"""
from __future__ import annotations
import argparse, hashlib, json, os, re, shutil, signal, socket, secrets, subprocess, sys, tempfile, time
import urllib.request, urllib.error
from pathlib import Path

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
# seconds; every wait is on a condition, bounded, so a broken page fails rather than hangs
T_SERVER, T_KERNEL, T_RUN_ALL, T_RENDER, T_UPDATE = 90, 90, 300, 60, 60
T_TOTAL = int(os.environ.get('BROWSER_TEST_TIMEOUT', 570))  # the whole test; .ci/run wraps it in `timeout 600`
MIN_TRACK = 100  # px: the narrowest slider track the layout check accepts (a squeezed slider is a bare handle)
WIDGET_CODE = re.compile(r'^\s*(import ipywidgets|from ipywidgets)|\bexplore\(|\bdemo_widget\(|\binteract(ive)?\(', re.M)

class Fail(Exception): pass

def log(*a): print('[browser-test]', *a, flush=True)

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def api(base:str, token:str, path:str, method:str='GET', timeout:float=5):
    "Call the Jupyter server's REST API; returns the decoded JSON (or None for an empty body)"
    req = urllib.request.Request(f'{base}{path}', method=method, headers={'Authorization': f'token {token}'})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read()
    return json.loads(body) if body else None

def code_of(nb:dict) -> list:
    return [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code']

def is_slow(src:str) -> bool:
    return bool(re.search(r'^\s*#\|\s*slow\b|^\s*#\|\s*eval\s*:\s*false', src, re.M))

def widget_notebooks(repo:Path) -> list:
    "The notebooks (relative paths) whose code, slow cells aside, uses ipywidgets"
    found = []
    for p in sorted((repo/'nbs').glob('*.ipynb')):
        if p.name.startswith('_'): continue
        if any(WIDGET_CODE.search(s) for s in code_of(json.loads(p.read_text())) if not is_slow(s)): found.append(f'nbs/{p.name}')
    return found

def copy_repo(repo:Path, dest:Path):
    "Copy what the notebooks need (settings.ini, the package, the notebooks) into `dest`; drop `#| slow` cells from the copies"
    dest.mkdir(parents=True)
    for name in ('settings.ini', 'setup.py', 'pyproject.toml'):
        if (repo/name).exists(): shutil.copy2(repo/name, dest/name)
    ign = shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints', '_proc', '_docs')
    shutil.copytree(repo/'adam_nb', dest/'adam_nb', ignore=ign)
    shutil.copytree(repo/'nbs', dest/'nbs', ignore=ign)
    for p in (dest/'nbs').glob('*.ipynb'):
        nb = json.loads(p.read_text())
        nb['cells'] = [c for c in nb['cells'] if not (c['cell_type'] == 'code' and is_slow(''.join(c['source'])))]
        p.write_text(json.dumps(nb))

def lab_settings(settings_dir:Path):
    "JupyterLab user settings for a deterministic test: every cell in the DOM, no autosave, no news"
    files = {
        '@jupyterlab/notebook-extension/tracker.jupyterlab-settings': {'windowingMode': 'none'},
        '@jupyterlab/docmanager-extension/plugin.jupyterlab-settings': {'autosave': False},
        '@jupyterlab/apputils-extension/notification.jupyterlab-settings': {'fetchNews': 'false', 'checkForUpdates': False},
    }
    for rel, content in files.items():
        p = settings_dir/rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(content))

def start_lab(root:Path, work:Path, port:int, token:str) -> subprocess.Popen:
    "Start JupyterLab in its own process group, serving `root`; its log goes to work/lab.log"
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get('PYTHONPATH', ''),
               JUPYTER_RUNTIME_DIR=str(work/'runtime'), JUPYTERLAB_SETTINGS_DIR=str(work/'settings'),
               JUPYTERLAB_WORKSPACES_DIR=str(work/'workspaces'))
    env.pop('MPLBACKEND', None)  # CI sets agg for headless runs; in a user's JupyterLab the kernel chooses matplotlib's inline backend
    lab_settings(work/'settings')
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}', '--port-retries=0',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}',
           f'--LabApp.user_settings_dir={work/"settings"}', f'--LabApp.workspaces_dir={work/"workspaces"}',
           '--LabApp.news_url=', '--LabApp.extension_manager=readonly', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')  # CI containers run as root
    logf = open(work/'lab.log', 'w')
    return subprocess.Popen(cmd, cwd=root, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)

def wait_for_server(proc, base:str, token:str):
    t0 = time.monotonic()
    while time.monotonic() - t0 < T_SERVER:
        if proc.poll() is not None: raise Fail(f'jupyter lab exited early with status {proc.returncode}')
        try:
            api(base, token, '/api/status', timeout=2); return time.monotonic() - t0
        except (urllib.error.URLError, ConnectionError, OSError): time.sleep(0.5)
    raise Fail(f'jupyter lab did not answer within {T_SERVER} s')

def stop_kernels(base:str, token:str):
    for k in api(base, token, '/api/kernels') or []: api(base, token, f'/api/kernels/{k["id"]}', 'DELETE', timeout=20)

def stop_lab(proc, base:str, token:str):
    "Shut the kernels and the server down cleanly, then make sure the process group is gone"
    if proc.poll() is None:
        try: stop_kernels(base, token)
        except Exception as e: log('could not stop kernels through the API:', e)
        try: api(base, token, '/api/shutdown', 'POST', timeout=10)
        except Exception as e: log('could not shut the server down through the API:', e)
    try: proc.wait(timeout=15)
    except subprocess.TimeoutExpired: pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try: os.killpg(proc.pid, sig)
        except ProcessLookupError: break
        try: proc.wait(timeout=10); break
        except subprocess.TimeoutExpired: continue

# JavaScript run in the page
JS_PROMPTS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')).map(e => e.textContent.trim())"""
JS_ERRORS = """() => [
    ...Array.from(document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(e => e.innerText).filter(t => /Traceback|Error:|Exception:/.test(t)),
    ...Array.from(document.querySelectorAll('.jp-OutputArea-output'))
        .map(e => e.innerText).filter(t => /Error displaying widget|Failed to load model class|model not found/.test(t))]"""
# the output areas that hold a widget with a slider (a progress bar is a widget too, but has no slider)
SLIDER_APPS = '.jp-OutputArea-output:has(.widget-slider)'

def summary(tb:str) -> str:
    "The `SomeError: message` line of a traceback shown in a cell (else its start)"
    hits = [l.strip() for l in tb.splitlines() if re.match(r'\s*\w*(Error|Exception)\b.*:', l)]
    return hits[-1][:500] if hits else tb.strip()[:500]

def run_all(page):
    "Run every cell through the Run menu (falling back to the command palette)"
    try:
        page.locator('.lm-MenuBar-itemLabel', has_text=re.compile(r'^Run$')).first.click(timeout=10_000)
        page.locator('.lm-Menu-itemLabel', has_text=re.compile(r'^Run All Cells$')).first.click(timeout=10_000)
    except Exception as e:
        log('menu Run > Run All Cells failed, using the command palette:', e)
        page.keyboard.press('Control+Shift+C')
        page.keyboard.type('Run All Cells')
        page.keyboard.press('Enter')

def wait_run_all(page, base, token):
    "Wait until every code cell has an execution count and the kernel is idle"
    t0, last = time.monotonic(), None
    while time.monotonic() - t0 < T_RUN_ALL:
        prompts = page.evaluate(JS_PROMPTS)
        done = prompts and all(re.fullmatch(r'\[\d+\]:', p) for p in prompts)
        kernels = api(base, token, '/api/kernels')
        idle = kernels and all(k['execution_state'] == 'idle' for k in kernels)
        if done and idle: return time.monotonic() - t0
        if page.evaluate(JS_ERRORS): return time.monotonic() - t0  # an error stops run-all: report it
        last = prompts
        time.sleep(1)
    raise Fail(f'cells did not finish within {T_RUN_ALL} s; prompts: {last}')

def shot(loc, tries:int=20) -> bytes:
    "A screenshot of the element (scrolled into view), as PNG bytes; retried while a redraw replaces the element"
    for i in range(tries):
        try: return loc.screenshot(animations='disabled', timeout=15_000)
        except Exception as e:
            if i == tries - 1 or not re.search(r'not attached|detached|not visible|Timeout', str(e)): raise
            time.sleep(0.5)

def wait_drawn(loc, what:str, timeout=T_RENDER) -> bytes:
    "Wait until the element shows a picture (a screenshot that is not blank) that stays the same for a moment"
    t0, prev = time.monotonic(), None
    while time.monotonic() - t0 < timeout:
        img = shot(loc)
        if img == prev and len(img) > 3000: return img
        prev = img
        time.sleep(0.5)
    raise Fail(f'{what} did not render a stable picture within {timeout} s')

def wait_changed(get, before, what:str, cause:str, timeout=T_UPDATE):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        now = get()
        if now != before: return now, time.monotonic() - t0
        time.sleep(0.3)
    raise Fail(f'{what} did not change within {timeout} s after {cause}')

def sha(b:bytes) -> str: return hashlib.sha256(b).hexdigest()[:12]

def move_slider(page, slider) -> tuple:
    "Move the slider one key press away from where it is (right, or left at the end); (value before, value after)"
    readout = slider.locator('.widget-readout').first
    before = readout.inner_text()
    handle = slider.locator('.noUi-handle').first
    for key in ('ArrowRight', 'ArrowLeft'):
        handle.focus(); page.keyboard.press(key)
        try: after, _ = wait_changed(lambda: readout.inner_text(), before, 'the slider readout', f'pressing {key}', timeout=5)
        except Fail: continue
        return before, after
    raise Fail(f'the slider did not move with the arrow keys (still {before})')

def test_widget(page, app, name:str, i:int, out:Path) -> str:
    "Move the first slider of the widget `app` and check that its plot changed; a line for the log"
    label = app.locator('.widget-slider').first.locator('.widget-label').first.inner_text().strip() or 'first slider'
    plot = app.locator('.explorer-plot canvas, canvas.jupyter-matplotlib-canvas, .widget-output img, .widget-image, img').first
    try: plot.wait_for(state='visible', timeout=T_RENDER * 1000)
    except Exception: raise Fail(f'{name}: widget {i} ({label} slider) shows no plot')
    before = wait_drawn(plot, f'{name}: the plot of widget {i}')
    shutil_write(out/f'{name}_w{i}_before.png', shot(app))
    v0, v1 = move_slider(page, app.locator('.widget-slider').first)
    _, dt = wait_changed(lambda: shot(plot), before, f'{name}: the plot of widget {i}', f'moving {label} from {v0} to {v1}')
    time.sleep(0.5)
    shutil_write(out/f'{name}_w{i}_after.png', shot(app))
    return f'{label} {v0} -> {v1}: plot changed after {dt:.1f} s'

def shutil_write(path:Path, data:bytes): path.write_bytes(data)

def test_explorer_click(page, app, name:str, out:Path) -> str:
    "Click the explorer's contour plot: the start point (the start-x box) and the plot must change"
    canvas = app.locator('.explorer-plot canvas').first
    xbox = app.locator('.explorer-x input').first
    before_img, before_x = wait_drawn(canvas, f'{name}: the explorer canvas'), xbox.input_value()
    box = canvas.bounding_box()
    if not box: raise Fail(f'{name}: the explorer canvas has no size')
    # the left panel spans about 12–51 % of the figure's width (its left 44 px are kept for the toolbar) and 14–88 % of its height from the top: click inside, off the start
    # a real mouse click at that spot of the page (ipympl listens on a transparent canvas laid over the picture)
    canvas.scroll_into_view_if_needed(); box = canvas.bounding_box()
    page.mouse.click(box['x'] + box['width'] * 0.38, box['y'] + box['height'] * 0.30)
    new_x, dt = wait_changed(lambda: xbox.input_value(), before_x, f'{name}: the start point (start x)', 'clicking the contour plot')
    after_img, dt_img = wait_changed(lambda: shot(canvas), before_img, f'{name}: the explorer canvas', 'clicking the contour plot')
    time.sleep(0.5)
    shutil_write(out/f'{name}_click.png', shot(app))
    timing = re.search(r'compute (\d+) ms · draw (\d+) ms', app.locator('.explorer-readout').first.inner_text())
    t = f'; the widget reports compute {timing[1]} ms, draw {timing[2]} ms' if timing else ''
    return f'click: start x {before_x} -> {new_x} after {dt:.1f} s, plot changed after {dt_img:.1f} s{t}'

def red_px(png:bytes, right:float=0.5) -> int:
    "Pixels of Adam's red (#d62728) in the left `right` fraction of a screenshot: the trajectories panel"
    import io
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(io.BytesIO(png)).convert('RGB')).astype(int)
    a = a[:, :int(a.shape[1] * right)]
    return int((np.abs(a - np.array([214, 39, 40])).max(-1) <= 40).sum())

def test_explorer_zoom(page, app, name:str, out:Path) -> str:
    "Zoom into the contour plot with the toolbar: the view must change and the trajectories stay drawn"
    canvas = app.locator('.explorer-plot canvas').first
    before = wait_drawn(canvas, f'{name}: the explorer canvas')
    red0 = red_px(before)
    if red0 < 30: raise Fail(f"{name}: no trajectory of Adam's colour on the canvas before zooming ({red0} pixels)")
    zoom = app.locator('.explorer-plot button[title^="Zoom"]').first
    zoom.click()
    canvas.scroll_into_view_if_needed(); box = canvas.bounding_box()
    at = lambda fx, fy: (box['x'] + box['width'] * fx, box['y'] + box['height'] * fy)
    page.mouse.move(*at(0.15, 0.25)); page.mouse.down(); page.mouse.move(*at(0.40, 0.75), steps=8); page.mouse.up()
    after, dt = wait_changed(lambda: shot(canvas), before, f'{name}: the explorer canvas', 'zooming with the toolbar')
    after = wait_drawn(canvas, f'{name}: the zoomed canvas')
    zoom.click()  # leave zoom mode
    red1 = red_px(after)
    shutil_write(out/f'{name}_zoom.png', shot(app))
    if red1 < 30: raise Fail(f"{name}: the trajectories vanished after zooming ({red1} pixels of Adam's colour, {red0} before)")
    return f"zoom: the view changed after {dt:.1f} s, Adam's trajectory still drawn ({red0} -> {red1} pixels of its colour)"

# Every control of a widget (ipywidgets' `.widget-inline-hbox`: sliders, menus, checkboxes, text boxes), measured in the
# page: a list of {name, problems}. The toolbar of a matplotlib canvas is not a control of the widget.
JS_LAYOUT = """(app, minTrack) => {
    const ctx = document.createElement('canvas').getContext('2d');
    const px = v => parseFloat(v) || 0;
    const textWidth = (text, el) => { const cs = getComputedStyle(el); ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`; return ctx.measureText(text).width; };
    const shown = e => e && e.getClientRects().length > 0 && getComputedStyle(e).display !== 'none' && getComputedStyle(e).visibility !== 'hidden';
    const cut = e => shown(e) && e.scrollWidth > e.clientWidth + 1;
    const abox = app.getBoundingClientRect();
    const controls = Array.from(app.querySelectorAll('.widget-inline-hbox')).filter(c => shown(c) && !c.closest('.jupyter-matplotlib'));
    const rows = controls.map(c => {
        const r = c.getBoundingClientRect(), problems = [];
        const lab = Array.from(c.children).find(e => e.matches('label.widget-label') && shown(e) && e.textContent.trim());
        const basic = c.querySelector('label.widget-label-basic');      // a checkbox's own text
        const name = (lab && lab.textContent.trim()) || (basic && basic.textContent.trim()) || c.className;
        if (lab && cut(lab)) problems.push(`its label is cut off (${lab.scrollWidth} px of text in ${lab.clientWidth} px)`);
        if (basic && cut(basic)) problems.push(`its text is cut off (${basic.scrollWidth} px in ${basic.clientWidth} px)`);
        if (cut(c)) problems.push(`its content overflows it (${c.scrollWidth} px in ${c.clientWidth} px)`);
        const readout = c.querySelector('.widget-readout');
        if (readout && cut(readout)) problems.push(`its readout is cut off (${readout.scrollWidth} px in ${readout.clientWidth} px)`);
        // the part a user operates: a slider's track, a menu, a text box, a checkbox with its text
        const body = c.querySelector('.slider-container') || c.querySelector('select') || c.querySelector('input:not([type=checkbox])') || basic;
        if (body && lab) {
            const bw = body.getBoundingClientRect().width, lw = lab.getBoundingClientRect().width;
            if (bw + 0.5 < lw) problems.push(`it is narrower than its label (${bw.toFixed(0)} px < ${lw.toFixed(0)} px)`);
        }
        if (c.matches('.widget-slider') && body) {
            const bw = body.getBoundingClientRect().width;
            if (bw < minTrack) problems.push(`its track is ${bw.toFixed(0)} px wide (< ${minTrack} px)`);
        }
        const sel = c.querySelector('select');
        if (sel && sel.selectedIndex >= 0) {
            const cs = getComputedStyle(sel), need = textWidth(sel.options[sel.selectedIndex].text, sel) + px(cs.paddingLeft) + px(cs.paddingRight);
            if (need > sel.clientWidth + 1) problems.push(`its menu shows ${sel.clientWidth} px of the ${need.toFixed(0)} px its choice "${sel.options[sel.selectedIndex].text}" needs`);
        }
        if (r.left < abox.left - 1 || r.right > abox.right + 1) problems.push(`it sticks out of the widget (${r.left.toFixed(0)}–${r.right.toFixed(0)} px, widget ${abox.left.toFixed(0)}–${abox.right.toFixed(0)} px)`);
        return {name, problems, box: [r.left, r.top, r.right, r.bottom]};
    });
    rows.forEach((a, i) => rows.slice(i + 1).forEach(b => {
        const w = Math.min(a.box[2], b.box[2]) - Math.max(a.box[0], b.box[0]), h = Math.min(a.box[3], b.box[3]) - Math.max(a.box[1], b.box[1]);
        if (w > 1 && h > 1) a.problems.push(`it overlaps "${b.name}" (${w.toFixed(0)}×${h.toFixed(0)} px)`);
    }));
    return rows.map(({name, problems, box}) => ({name, problems, width: box[2] - box[0]}));
}"""

def check_layout(app, name:str, i:int, out:Path) -> str:
    "No control of the widget is cut off, overlaps another, or is narrower than its label (JS_LAYOUT); a line for the log"
    rows = app.evaluate(JS_LAYOUT, MIN_TRACK)
    shutil_write(out/f'{name}_w{i}_layout.png', shot(app))
    if not rows: raise Fail(f'{name}: widget {i} shows no control')
    bad = [f'"{r["name"]}": ' + '; '.join(r['problems']) for r in rows if r['problems']]
    if bad: raise Fail(f'{name}: widget {i}\'s layout: ' + ' | '.join(bad))
    return f'layout: {len(rows)} controls, none cut off or narrower than its label (narrowest {min(r["width"] for r in rows):.0f} px)'

def ink_px(png:bytes, level:int=200) -> int:
    "Pixels of a screenshot darker than `level` in some channel: what is drawn on a white figure"
    import io
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(io.BytesIO(png)).convert('RGB')).astype(int)
    return int((a.min(-1) < level).sum())

def test_explorer_toolbar(page, app, name:str, out:Path) -> str:
    "The canvas's toolbar covers no ink of the figure: the figure under it, with the toolbar hidden, is blank"
    tb = app.locator('.explorer-plot .jupyter-matplotlib-toolbar').first
    canvas = app.locator('.explorer-plot canvas').first
    t, c = tb.bounding_box(), canvas.bounding_box()
    if not t or not c or t['width'] == 0: raise Fail(f'{name}: the explorer\'s toolbar is not shown')
    x0, y0 = max(t['x'], c['x']), max(t['y'], c['y'])
    x1, y1 = min(t['x'] + t['width'], c['x'] + c['width']), min(t['y'] + t['height'], c['y'] + c['height'])
    if x1 <= x0 or y1 <= y0: return 'toolbar: beside the figure, covers none of it'
    tb.evaluate("e => e.style.setProperty('visibility', 'hidden', 'important')")
    try:
        time.sleep(0.3)
        under = page.screenshot(clip=dict(x=x0, y=y0, width=x1 - x0, height=y1 - y0), animations='disabled')
    finally: tb.evaluate("e => e.style.removeProperty('visibility')")
    shutil_write(out/f'{name}_under_toolbar.png', under)
    ink = ink_px(under)
    if ink > 0: raise Fail(f'{name}: after the zoom the toolbar covers {ink} drawn pixels of the figure (tick labels or an axis label) '
                           f'in its {x1 - x0:.0f}×{y1 - y0:.0f} px; see {name}_under_toolbar.png')
    return f'toolbar: the {x1 - x0:.0f}×{y1 - y0:.0f} px of figure under it are blank after the zoom'

# Run in the notebook's kernel: every axis of every explorer figure has a label that lies inside the figure
KERNEL_LABELS = r"""
import json as _json
from ipywidgets.widgets.widget import _instances as _w
_r = []
for _n, _app in enumerate([w for w in list(_w.values()) if hasattr(w, 'explorer')]):
    _f = _app.explorer.fig; _rd = _f.canvas.get_renderer(); _fb = _f.bbox
    for _i, _ax in enumerate(_f.axes):
        if not _ax.get_visible(): continue
        for _k, _lab in (('x', _ax.xaxis.label), ('y', _ax.yaxis.label)):
            _e = _lab.get_window_extent(_rd) if _lab.get_text() and _lab.get_visible() else None
            _inside = _e is not None and _e.x0 >= _fb.x0 - 1 and _e.x1 <= _fb.x1 + 1 and _e.y0 >= _fb.y0 - 1 and _e.y1 <= _fb.y1 + 1
            _r.append(dict(fig=_n, axes=_i, title=_ax.get_title(), axis=_k, label=_lab.get_text() if _lab.get_visible() else '', inside=bool(_inside)))
print('AXIS_LABELS ' + _json.dumps(_r))
"""

def kernel_run(work:Path, base:str, token:str, code:str, timeout:float=60) -> str:
    "Run `code` in the (one) running kernel, as a second client on its connection file; its stdout"
    from jupyter_client import BlockingKernelClient
    ks = api(base, token, '/api/kernels')
    if len(ks) != 1: raise Fail(f'expected one running kernel, found {len(ks)}')
    kc = BlockingKernelClient(connection_file=str(work/'runtime'/f'kernel-{ks[0]["id"]}.json'))
    kc.load_connection_file(); kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        text, err = [], []
        def hook(msg):
            c = msg['content']
            if msg['msg_type'] == 'stream': text.append(c['text'])
            elif msg['msg_type'] == 'error': err.append(f"{c['ename']}: {c['evalue']}")
        kc.execute_interactive(code, store_history=False, timeout=timeout, output_hook=hook)
        if err: raise Fail(f'the check in the kernel failed: {err[0]}')
        return ''.join(text)
    finally: kc.stop_channels()

def test_explorer_labels(work:Path, base:str, token:str, name:str) -> str:
    "Every axis of the explorer's figure is labelled, and the label lies inside the figure (asked in the kernel)"
    m = re.search(r'^AXIS_LABELS (.*)$', kernel_run(work, base, token, KERNEL_LABELS), re.M)
    if not m: raise Fail(f'{name}: the kernel printed no axis labels')
    rows = json.loads(m[1])
    if not rows: raise Fail(f'{name}: no explorer figure found in the kernel')
    bad = [f'figure {r["fig"]}, axes {r["axes"]} ({r["title"] or "untitled"}), {r["axis"]} axis: ' + ('no label' if not r['label'] else f'label {r["label"]!r} outside the figure')
           for r in rows if not (r['label'] and r['inside'])]
    if bad: raise Fail(f'{name}: unlabelled axes in the explorer: ' + '; '.join(bad))
    labels = sorted({f'{r["axis"]}: {r["label"]}' for r in rows})
    n_axes = len({(r['fig'], r['axes']) for r in rows})
    return f'labels: every axis of the {n_axes} panels of the explorer\'s figures in the kernel is labelled inside its figure ({", ".join(labels)})'

def test_notebook(browser, base:str, token:str, nb_rel:str, out:Path, work:Path) -> str:
    "Open, run and drive one notebook; a summary line"
    name = Path(nb_rel).stem
    page = browser.new_page(viewport={'width': 1400, 'height': 1000})
    page.set_default_timeout(30_000)
    try:
        page.goto(f'{base}/lab/tree/{nb_rel}?token={token}&reset', timeout=90_000)
        page.wait_for_selector('.jp-NotebookPanel .jp-Notebook .jp-Cell', timeout=90_000)
        # wait for the kernel; a notebook saved without kernelspec (nbdev_clean strips it) asks for one first
        t0 = time.monotonic()
        while not api(base, token, '/api/kernels') and time.monotonic() - t0 < T_KERNEL:
            accept = page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept')
            if accept.count(): accept.first.click()
            time.sleep(0.5)
        if not api(base, token, '/api/kernels'): raise Fail(f'{name}: no kernel started')
        page.locator('.jp-NotebookPanel .jp-Notebook').first.click(position={'x': 5, 'y': 5})
        run_all(page)
        t_run = wait_run_all(page, base, token)
        n_cells = len(page.evaluate(JS_PROMPTS))
        errors = page.evaluate(JS_ERRORS)
        if errors: raise Fail(f'{name}: a cell shows an error: {summary(errors[0])}')
        log(f'{name}: ran {n_cells} code cells in {t_run:.0f} s, no errors')
        apps = page.locator(SLIDER_APPS)
        t0 = time.monotonic()
        while apps.count() == 0 and time.monotonic() - t0 < T_RENDER: time.sleep(0.5)
        n = apps.count()
        if n == 0: raise Fail(f'{name}: uses ipywidgets but no widget with a slider rendered')
        lines = []
        for i in range(n):
            app = apps.nth(i)
            app.scroll_into_view_if_needed()
            lines.append(test_widget(page, app, name, i, out))
            log(f'{name}: widget {i}: {lines[-1]}')
            lines.append(check_layout(app, name, i, out))
            log(f'{name}: widget {i}: {lines[-1]}')
            if app.locator('.explorer-plot canvas').count():
                lines.append(test_explorer_click(page, app, name, out))
                log(f'{name}: widget {i}: {lines[-1]}')
                lines.append(test_explorer_zoom(page, app, name, out))
                log(f'{name}: widget {i}: {lines[-1]}')
                lines.append(test_explorer_toolbar(page, app, name, out))
                log(f'{name}: widget {i}: {lines[-1]}')
                lines.append(test_explorer_labels(work, base, token, name))
                log(f'{name}: widget {i}: {lines[-1]}')
        errors = page.evaluate(JS_ERRORS)
        if errors: raise Fail(f'{name}: an error appeared after moving the widgets: {summary(errors[0])}')
        page.screenshot(path=str(out/f'{name}_page.png'))
        return f'{name}: {n_cells} cells, {n} widget(s): ' + '; '.join(lines)
    except Exception:
        try: page.screenshot(path=str(out/f'{name}_failure.png')); log(f'screenshot of the failure: {out/(name + "_failure.png")}')
        except Exception: pass
        raise
    finally:
        try: page.close()
        except Exception: pass
        try: stop_kernels(base, token)  # one kernel at a time on a small machine
        except Exception as e: log('could not stop the kernel:', e)

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent.parent
    ap.add_argument('--repo', default=str(here), help='repository root (default: the parent of tests/)')
    ap.add_argument('--notebook', action='append', help='a notebook relative to the repo root, repeatable (default: every notebook using ipywidgets)')
    ap.add_argument('--out', default=os.environ.get('BROWSER_TEST_OUT') or str(here/'tests'/'artifacts'/'browser'), help='folder for screenshots')
    ap.add_argument('--keep', action='store_true', help='keep the temporary copy of the repo')
    args = ap.parse_args()
    repo = Path(args.repo).resolve()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='adam-nb-browser-test-'))
    t_start, proc, base, token = time.monotonic(), None, None, secrets.token_hex(24)
    # a global deadline: SIGALRM turns into a failure, and the finally clause still stops JupyterLab
    def on_alarm(*_): raise Fail(f'the whole test took more than {T_TOTAL} s')
    signal.signal(signal.SIGALRM, on_alarm); signal.alarm(T_TOTAL)
    try:
        if not Path(CHROMIUM).exists(): raise Fail(f'{CHROMIUM} not found: run tests/browser_setup.sh')
        nbs = args.notebook or widget_notebooks(repo)
        if not nbs: raise Fail(f'no notebook in {repo/"nbs"} uses ipywidgets')
        for nb in nbs:
            if not (repo/nb).exists(): raise Fail(f'{repo/nb} not found')
        log(f'notebooks with widgets: {", ".join(nbs)}; screenshots in {out}')
        copy_repo(repo, work/'repo')
        port = free_port()
        base = f'http://127.0.0.1:{port}'
        proc = start_lab(work/'repo', work, port, token)
        log(f'JupyterLab answered on 127.0.0.1:{port} after {wait_for_server(proc, base, token):.1f} s')
        from playwright.sync_api import sync_playwright
        results = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox', '--disable-gpu'])
            try:
                for nb in nbs: results.append(test_notebook(browser, base, token, nb, out, work))
            finally: browser.close()
        for r in results: log(r)
        print(f'BROWSER TEST PASS: {len(nbs)} notebooks ({", ".join(Path(n).stem for n in nbs)}) ran without error, every widget\'s plot '
              f'changed when its first slider moved, no control was cut off or narrower than its label, the explorer\'s start point moved on a click, '
              f'its zoom kept the trajectories and left the toolbar over blank figure, and every axis of its figure is labelled; screenshots in {out}; '
              f'{time.monotonic() - t_start:.0f} s', flush=True)
        return 0
    except Exception as e:
        if proc is not None and (work/'lab.log').exists():
            log('last lines of the JupyterLab log:\n' + ''.join((work/'lab.log').read_text(errors='replace').splitlines(True)[-15:]))
        print(f'BROWSER TEST FAIL: {type(e).__name__}: {e} (screenshots in {out})', flush=True)
        return 1
    finally:
        signal.alarm(0)
        if proc is not None: stop_lab(proc, base, token)
        if not args.keep: shutil.rmtree(work, ignore_errors=True)

if __name__ == '__main__': sys.exit(main())
