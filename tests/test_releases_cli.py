"""The operator's commands over a data directory, each in a fresh process: tokens, drafts, export, import."""

from __future__ import annotations

from pathlib import Path

from .releasing import BAD_FIGURE, GOOD_CHANGE, GOOD_FIGURE, changed, cli, cli_token, local_releases


def test_tokens_drafts_export_and_import(tmp_path: Path, built_dist: Path) -> None:
    data = tmp_path / "data"
    releases = local_releases(data)
    releases.ensure_first_release(built_dist / "ceopgraph.trig")
    token = cli_token(data, "publisher", "Pat")
    listed = cli(data, "tokens", "list")
    token_id = token.split("_")[1]
    assert token_id in listed.stdout and "publisher" in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    assert cli(data, "tokens", "create", "--role", "submitter").returncode == 2  # a token needs a name

    release_1 = (releases.release_folder(1) / "ceopgraph.trig").read_bytes()
    (tmp_path / "bad.trig").write_bytes(changed(release_1, BAD_FIGURE))
    (tmp_path / "good.trig").write_bytes(changed(release_1, GOOD_FIGURE))
    bad = cli(data, "draft", "create", str(tmp_path / "bad.trig"))
    assert bad.returncode == 1 and "1 violation(s)" in bad.stdout
    bad_id = bad.stdout.split()[1].rstrip(":")
    refused = cli(data, "draft", "publish", bad_id)
    assert refused.returncode == 1 and "violation" in refused.stderr
    good = cli(data, "draft", "create", str(tmp_path / "good.trig"))
    good_id = good.stdout.split()[1].rstrip(":")
    diff = cli(data, "draft", "diff", good_id)
    assert diff.returncode == 0 and GOOD_CHANGE in diff.stdout
    published = cli(data, "draft", "publish", good_id, "--note", "The since-launch count corrected")
    assert published.returncode == 0 and "release 2" in published.stdout
    assert releases.registry.release(2).notes == "The since-launch count corrected"  # type: ignore[union-attr]
    assert cli(data, "draft", "diff", "0" * 32).returncode == 1

    audit = cli(data, "audit")
    assert audit.returncode == 0 and "prov:Activity" in audit.stdout and "publish - : done" not in audit.stdout
    assert "audit/agent/operator" in audit.stdout and "create-token" in audit.stdout
    assert cli(data, "tokens", "revoke", token_id).returncode == 0
    assert cli(data, "tokens", "revoke", token_id).returncode == 1  # revoked already

    exported = cli(data, "export", str(tmp_path / "export"))
    assert exported.returncode == 0, exported.stderr
    assert cli(data, "export", str(tmp_path / "export")).returncode == 1  # never over an export
    imported = cli(tmp_path / "copy", "import", str(tmp_path / "export"))
    assert imported.returncode == 0, imported.stderr
    again = cli(tmp_path / "copy", "export", str(tmp_path / "again"))
    assert again.returncode == 0
    assert (tmp_path / "again" / "registry.json").read_bytes() == (tmp_path / "export" / "registry.json").read_bytes()
    assert cli(tmp_path / "copy", "import", str(tmp_path / "export")).returncode == 1  # not into a used one
    copy = local_releases(tmp_path / "copy")
    assert copy.registry.state()[0] == 2
    assert (copy.release_folder(2) / "ceopgraph.nq").read_bytes() == (
        releases.release_folder(2) / "ceopgraph.nq"
    ).read_bytes()

    # A draft made from release 1, after release 2: its diff says what it takes back, and the operator too
    # publishes it only by acknowledging that.
    (tmp_path / "stale.trig").write_bytes(release_1.replace(b"obsValue 16568", b"obsValue 16570"))
    stale = cli(data, "draft", "create", "--base", "1", str(tmp_path / "stale.trig"))
    stale_id = stale.stdout.split()[1].rstrip(":")
    diff = cli(data, "draft", "diff", stale_id)
    assert "made from release 1" in diff.stdout and "needs --acknowledge reverts: It was made from" in diff.stdout
    refused = cli(data, "draft", "publish", stale_id)
    assert refused.returncode == 1 and "needs acknowledge=reverts" in refused.stderr
    published = cli(data, "draft", "publish", "--acknowledge", "reverts", stale_id)
    assert published.returncode == 0 and "release 3" in published.stdout, published.stderr
