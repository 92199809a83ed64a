"""bench.run.runfolder: rows written to a run folder read back; missing and corrupt files are refused with the fix."""

import json

import numpy as np
import pytest

from bench.run.runfolder import FORMAT_VERSION, RunFolder, output_path, read_manifest, read_run


def _row(case_id, psnr, **extra):
    return {"method": "wiener", "label": "wiener", "dataset": "toy", "case_id": case_id, "psnr": psnr,
            "status": "ok", "error": ""} | extra  # fmt: skip


def test_appended_rows_read_back_and_a_rerun_case_replaces_its_row(tmp_path):
    folder = RunFolder(tmp_path)
    folder.write_json({"format": FORMAT_VERSION, "methods": ["wiener"]}, "manifest.json")
    rows = folder.read_rows()
    assert rows.empty and list(rows.columns) == folder.columns
    rows = folder.append(rows, _row("c0", 20.0))
    rows = folder.append(rows, _row("c1", 21.0))
    rows = folder.append(rows, _row("c0", 25.0, traceback="Traceback: boom"))
    back = folder.read_rows()
    assert list(back["case_id"]) == ["c1", "c0"] and list(back["psnr"]) == [21.0, 25.0]
    assert back["error"].isna().all() and list(back["label"]) == ["wiener", "wiener"]  # empty cells read as NaN
    assert (tmp_path / "errors.log").read_text() == "--- wiener c0\nTraceback: boom\n"
    run = read_run(tmp_path)
    assert list(run.cases["case_id"]) == ["c1", "c0"] and run.manifest["methods"] == ["wiener"]


def test_invocations_are_numbered_and_their_history_kept(tmp_path):
    folder = RunFolder(tmp_path)
    first = folder.start_invocation({"format": FORMAT_VERSION, "note": "a"})
    folder.write_json(first, "manifest.json")
    second = RunFolder(tmp_path).start_invocation({"format": FORMAT_VERSION, "note": "b"})
    assert second["invocation"] == 2 and [r["note"] for r in second["invocations"]] == ["a", "b"]


def test_a_folder_without_cases_is_refused_naming_what_to_pass(tmp_path):
    with pytest.raises(ValueError, match=r"has no cases.csv; pass folders written by `bench run`"):
        read_run(tmp_path)


def test_a_corrupt_manifest_or_an_old_format_is_refused_with_the_command_that_recomputes_it(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"manifest.json is not valid JSON .*; recompute the run with bench run"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"format": 1, "methods": ["rl"], "config": {"dataset": {"name": "toy"}}})
    )
    with pytest.raises(ValueError) as error:
        read_manifest(tmp_path)
    assert f"is a run folder of format 1 (this deconv-bench reads format {FORMAT_VERSION})" in str(error.value)
    assert str(error.value).endswith(f"rm -r {tmp_path} && bench run --method rl --dataset toy --out {tmp_path}")


def test_a_corrupt_cases_file_is_refused(tmp_path):
    (tmp_path / "cases.csv").write_bytes(b'method,label\n"unclosed,x\n')
    with pytest.raises(ValueError, match=r"cases.csv cannot be read as a run's rows .*; recompute the run"):
        read_run(tmp_path)


def test_saved_outputs_are_checked_whole(tmp_path):
    folder = RunFolder(tmp_path)
    assert not folder.output_ok("a[x=1,y=2]", "c0")
    folder.write_output("a[x=1,y=2]", "c0", {"x_hat": np.ones((4, 4), np.float32)})
    path = output_path(tmp_path, "a[x=1,y=2]", "c0")
    assert path.parent.name == "a[x=1%2Cy=2]" and folder.output_ok("a[x=1,y=2]", "c0")
    path.write_bytes(path.read_bytes()[:20])  # truncated
    assert not folder.output_ok("a[x=1,y=2]", "c0")
