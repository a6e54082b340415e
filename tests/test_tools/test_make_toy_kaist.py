"""tools/make_toy_kaist.py: runs as a script, writes the toy KAIST and refuses
a folder that is not empty."""
import subprocess
import sys


def test_cli(tmp_path, repo_root, capsys, load_tool):
    script = repo_root / 'tools' / 'make_toy_kaist.py'
    # as a script: --help exits before the heavy imports
    proc = subprocess.run([sys.executable, str(script), '--help'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and '--num-frames' in proc.stdout
    tool = load_tool('make_toy_kaist')
    out = tmp_path / 'cli_toy'
    assert tool.main([str(out), '--num-frames', '8', '--size', '160',
                      '128']) == 0
    assert 'SYNTHETIC' in capsys.readouterr().out
    assert (out / 'imageSets' / 'test-all-20.txt').is_file()
    assert tool.main([str(out)]) == 2
    assert 'not an empty folder' in capsys.readouterr().err
