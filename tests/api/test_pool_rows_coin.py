"""Pool block and payout rows of a merged operation: an aux chain's block (DOGE under a Litecoin
pool) says its coin beside its reward and does not link to the parent chain's block explorer."""

from __future__ import annotations

from hashforge.web.render import templates


def _rows(*blocks: dict[str, object]) -> str:
    return templates.env.get_template("_pool_block_rows.html").render(rows=blocks, ticker="LTC")


def _reward_cell(html: str) -> str:
    return html.split('class="num">')[1].split("</td>")[0].strip()


def _block(coin: str | None, hash_: str) -> dict[str, object]:
    return {"id": 1, "hash": hash_, "height": 25, "status": "pending", "worker": "rltc1qx.rig", "reward_sat": 50_000_000_000,
            "found_at": 1_700_000_000.0, "coin": coin}


def test_an_aux_block_row_names_its_coin_and_links_nowhere() -> None:
    html = _rows(_block("DOGE", "ab" * 32))
    assert _reward_cell(html).endswith(" DOGE")
    assert 'href="/blocks/' not in html


def test_a_parent_block_row_links_to_the_block_and_has_no_extra_label() -> None:
    for coin in ("LTC", None):
        html = _rows(_block(coin, "cd" * 32))
        assert f'href="/blocks/{"cd" * 32}"' in html
        assert "DOGE" not in html and not _reward_cell(html).endswith(("LTC", "DOGE"))
