from keras_muxnet.cli import main


def test_info_prints_counts_beside_the_paper(capsys):
    assert main(["info", "muxnet_m"]) == 0
    out = capsys.readouterr().out
    assert "3,354,276 parameters" in out and "216,808,112 multiply-adds" in out
    assert "218M" in out and "authors" in out


def test_info_unknown_variant_is_a_clear_error(capsys):
    assert main(["info", "muxnet_q"]) == 2
    assert "unknown MUXNet variant 'muxnet_q'" in capsys.readouterr().err
