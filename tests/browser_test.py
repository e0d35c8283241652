#!/usr/bin/env python
"""Real-browser test of the optimizer explorer (nbs/08_explorer.ipynb).

Starts JupyterLab on 127.0.0.1 with a random token on a copy of the repo's notebooks and package, opens the
explorer notebook in headless Chromium (/usr/bin/chromium, driven by playwright), runs all cells, checks that
no cell shows an error, moves the α slider with the keyboard, and checks that the plot image and the readout
changed. Saves screenshots, always stops JupyterLab, and prints one line starting with
`BROWSER TEST PASS` or `BROWSER TEST FAIL`; exit status 0 on pass.

Usage: python tests/browser_test.py [--out DIR] [--repo DIR] [--notebook nbs/08_explorer.ipynb]
(the screenshot folder also comes from $BROWSER_TEST_OUT; default: a new temporary folder).
"""
from __future__ import annotations
import argparse, hashlib, json, os, re, shutil, signal, socket, secrets, subprocess, sys, tempfile, time
import urllib.request, urllib.error
from pathlib import Path

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
T_SERVER, T_RUN_ALL, T_UPDATE, T_TOTAL = 90, 180, 30, 420  # seconds: bounded everywhere, so it fails rather than hangs

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

def copy_repo(repo:Path, dest:Path):
    "Copy what the notebook needs (settings.ini, the package, the notebooks) into `dest`"
    dest.mkdir(parents=True)
    for name in ('settings.ini', 'setup.py', 'pyproject.toml'):
        if (repo/name).exists(): shutil.copy2(repo/name, dest/name)
    ign = shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints', '_proc', '_docs')
    shutil.copytree(repo/'adam_nb', dest/'adam_nb', ignore=ign)
    shutil.copytree(repo/'nbs', dest/'nbs', ignore=ign)

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

def stop_lab(proc, base:str, token:str):
    "Shut the kernels and the server down cleanly, then make sure the process group is gone"
    if proc.poll() is None:
        try:
            for k in api(base, token, '/api/kernels') or []: api(base, token, f'/api/kernels/{k["id"]}', 'DELETE', timeout=10)
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
JS_ERRORS = """() => Array.from(document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'))
    .map(e => e.innerText).filter(t => /Traceback|Error|Exception/.test(t))"""
JS_IMAGE = """async (img) => {
    const buf = await (await fetch(img.src)).arrayBuffer();
    const d = await crypto.subtle.digest('SHA-256', buf);
    return {src: img.src, bytes: buf.byteLength, sha: Array.from(new Uint8Array(d)).map(b => b.toString(16).padStart(2, '0')).join('')};
}"""

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
        if prompts != last: last = prompts
        time.sleep(1)
    raise Fail(f'cells did not finish within {T_RUN_ALL} s; prompts: {last}')

def wait_changed(get, before, what:str, timeout=T_UPDATE):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        now = get()
        if now != before: return now, time.monotonic() - t0
        time.sleep(0.2)
    raise Fail(f'{what} did not change within {timeout} s after moving the α slider')

def browser_test(base:str, token:str, nb_rel:str, out:Path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox', '--disable-gpu'])
        try:
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.set_default_timeout(30_000)
            page.goto(f'{base}/lab/tree/{nb_rel}?token={token}&reset', timeout=60_000)
            page.wait_for_selector('.jp-NotebookPanel .jp-Notebook .jp-Cell', timeout=60_000)
            # wait for the kernel; a notebook saved without kernelspec (nbdev_clean strips it) asks for one first
            t0 = time.monotonic()
            while not api(base, token, '/api/kernels') and time.monotonic() - t0 < 60:
                accept = page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept')
                if accept.count():
                    log('accepting the kernel dialog:', page.locator('.jp-Dialog').first.inner_text()[:80].replace('\n', ' '))
                    accept.first.click()
                time.sleep(0.5)
            if not api(base, token, '/api/kernels'): raise Fail('no kernel started for the notebook')
            page.locator('.jp-NotebookPanel .jp-Notebook').first.click(position={'x': 5, 'y': 5})
            run_all(page)
            t_run = wait_run_all(page, base, token)
            n_cells = len(page.evaluate(JS_PROMPTS))
            errors = page.evaluate(JS_ERRORS)
            if errors: raise Fail(f'a cell shows an error: {summary(errors[0])}')
            log(f'ran {n_cells} code cells in {t_run:.0f} s, no errors')

            # the live explorer: the first app with an α slider
            slider = page.locator('.explorer-lr').first
            slider.wait_for(state='attached', timeout=30_000)
            app = slider.locator('xpath=ancestor::div[contains(@class, "jp-OutputArea-output")][1]')
            img = app.locator('.explorer-plot').first
            readout = app.locator('.explorer-readout').first
            img.wait_for(state='attached', timeout=30_000)
            slider.scroll_into_view_if_needed()
            value = lambda: slider.locator('.widget-readout').first.inner_text()
            image = lambda: img.evaluate(JS_IMAGE)
            text = lambda: readout.inner_text()
            before_img, before_txt, before_val = image(), text(), value()
            if before_img['bytes'] < 1000: raise Fail(f'the plot image looks empty ({before_img["bytes"]} bytes)')
            app.screenshot(path=str(out/'explorer_before.png'))

            handle = slider.locator('.noUi-handle').first
            handle.focus()
            for _ in range(3): page.keyboard.press('ArrowRight'); time.sleep(0.3)
            after_val = value()
            if after_val == before_val: raise Fail(f'the α slider did not move with ArrowRight (still {before_val})')
            after_img, dt_img = wait_changed(image, before_img, 'the plot image')
            after_txt, dt_txt = wait_changed(text, before_txt, 'the readout')
            if after_img['sha'] == before_img['sha']: raise Fail('the plot image was replaced by an identical one')
            log(f'α {before_val} -> {after_val}: image changed after {dt_img:.1f} s, readout after {dt_txt:.1f} s')

            handle.focus()
            page.keyboard.press('ArrowLeft'); time.sleep(0.3)
            back_val = value()
            back_img, _ = wait_changed(image, after_img, 'the plot image (ArrowLeft)')
            back_txt, _ = wait_changed(text, after_txt, 'the readout (ArrowLeft)')
            log(f'α {after_val} -> {back_val}: image and readout changed again')
            time.sleep(0.5)
            app.screenshot(path=str(out/'explorer_after.png'))
            page.screenshot(path=str(out/'jupyterlab.png'))
            errors = page.evaluate(JS_ERRORS)
            if errors: raise Fail(f'an error appeared after moving the slider: {summary(errors[0])}')
            return n_cells, (before_val, after_val, back_val)
        except Exception:
            try: page.screenshot(path=str(out/'failure.png')); log(f'screenshot of the failure: {out/"failure.png"}')
            except Exception: pass
            raise
        finally:
            browser.close()

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent.parent
    ap.add_argument('--repo', default=str(here), help='repository root (default: the parent of tests/)')
    ap.add_argument('--notebook', default='nbs/08_explorer.ipynb', help='the notebook, relative to the repo root')
    ap.add_argument('--out', default=os.environ.get('BROWSER_TEST_OUT'), help='folder for screenshots (default: a temporary folder)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary copy of the repo')
    args = ap.parse_args()
    repo = Path(args.repo).resolve()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix='explorer-shots-'))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='explorer-browser-test-'))
    t_start, proc, base, token = time.monotonic(), None, None, secrets.token_hex(24)
    # a global deadline: SIGALRM turns into a failure, and the finally clause still stops JupyterLab
    def on_alarm(*_): raise Fail(f'the whole test took more than {T_TOTAL} s')
    signal.signal(signal.SIGALRM, on_alarm); signal.alarm(T_TOTAL)
    try:
        if not Path(CHROMIUM).exists(): raise Fail(f'{CHROMIUM} not found: run tests/browser_setup.sh')
        if not (repo/args.notebook).exists(): raise Fail(f'{repo/args.notebook} not found')
        copy_repo(repo, work/'repo')
        port = free_port()
        base = f'http://127.0.0.1:{port}'
        proc = start_lab(work/'repo', work, port, token)
        log(f'JupyterLab answered on 127.0.0.1:{port} after {wait_for_server(proc, base, token):.1f} s')
        n_cells, vals = browser_test(base, token, args.notebook, out)
        print(f'BROWSER TEST PASS: {args.notebook}: {n_cells} cells ran without error; α slider '
              f'{vals[0]} -> {vals[1]} -> {vals[2]} changed the plot image and the readout; '
              f'screenshots in {out}; {time.monotonic() - t_start:.0f} s', flush=True)
        return 0
    except Exception as e:
        if proc is not None and (work/'lab.log').exists():
            log('last lines of the JupyterLab log:\n' + ''.join((work/'lab.log').read_text(errors='replace').splitlines(True)[-15:]))
        print(f'BROWSER TEST FAIL: {type(e).__name__}: {e}', flush=True)
        return 1
    finally:
        signal.alarm(0)
        if proc is not None: stop_lab(proc, base, token)
        if not args.keep: shutil.rmtree(work, ignore_errors=True)

if __name__ == '__main__': sys.exit(main())
