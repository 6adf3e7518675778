from keras_muxnet.cli import main


def test_info_prints_counts_beside_the_paper(capsys):
    assert main(["info", "muxnet_m"]) == 0
    out = capsys.readouterr().out
    assert "3,354,276 parameters" in out and "216,808,112 multiply-adds" in out
    assert "218M" in out and "authors" in out


def test_info_unknown_variant_is_a_clear_error(capsys):
    assert main(["info", "muxnet_q"]) == 2
    assert "unknown MUXNet variant 'muxnet_q'" in capsys.readouterr().err


def test_tensorflow_start_up_lines_are_kept_off_the_terminal():
    """A real run in a fresh process: our output and errors only, not TensorFlow's native logs."""
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "keras_muxnet.cli", "info", "muxnet_q"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "keras-muxnet info: error: unknown MUXNet variant 'muxnet_q'; known: "
        "['muxnet_l', 'muxnet_m', 'muxnet_s', 'muxnet_xs']"]


def test_the_filter_drops_native_info_and_warnings_only():
    from keras_muxnet.cli._quiet import NATIVE_NOISE

    dropped = [b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
               b"I0000 00:00:1795752407.908757    4042 port.cc:153] oneDNN custom operations are on.\n",
               b"W0000 00:00:1795752410.733718    4042 cudart_stub.cc:31] Could not find cuda\n"]
    kept = [b"E0000 00:00:1795752410.733718    4042 cuda_executor.cc:1] failed call\n",
            b"keras-muxnet info: error: unknown MUXNet variant\n", b"UserWarning: something\n"]
    assert all(NATIVE_NOISE.match(line) for line in dropped)
    assert not any(NATIVE_NOISE.match(line) for line in kept)
