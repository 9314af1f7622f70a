"""Miners' payout addresses on the aux chains of merged mining, named in the Stratum password.

A miner is known by its parent-chain address everywhere (username `LTC_ADDRESS.worker`, as for a
pool without aux chains); its share of each aux coin is credited to that name and paid to the
address it names per aux coin in the password, as NOMP-style pools take per-coin options there:

    mining.authorize ["LTC_ADDRESS.rig1", "doge=DOGE_ADDRESS"]      (also "d=0.5,doge=D...")

The key is the aux coin's ticker in lower case (`doge`); options are separated by commas,
semicolons or spaces. The first address named for a miner sticks: a later authorize naming
another one is refused (error 24), so whoever knows a miner's public LTC address cannot redirect
its DOGE; the pool operator changes it (`hashforge pool aux-address`). A miner that names none
still earns aux credits under its parent address; they are paid once it names an address.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hashforge.consensus.address import address_to_script
from hashforge.consensus.params import ChainParams

from .db.repositories import AuxAddressRepository

OPTION = re.compile(r"(?:^|[,;\s])([A-Za-z][A-Za-z0-9_-]*)=([^,;\s]*)")


def aux_addresses_in(password: str, chains: Sequence[ChainParams]) -> dict[str, str]:
    """{aux network: address} for each aux chain whose coin the password names (unchecked)."""
    by_coin = {p.coin.lower(): p.name for p in chains}
    return {by_coin[k.lower()]: v for k, v in OPTION.findall(password) if k.lower() in by_coin}


class AuxAddressBook:
    def __init__(self, engine: Engine, chains: Sequence[ChainParams]) -> None:
        self.engine = engine
        self.chains = {p.name: p for p in chains}

    def bind(self, address: str, password: str) -> str | None:
        """Stores the aux addresses `password` names for the miner `address`; why not, or None."""
        named = aux_addresses_in(password, list(self.chains.values()))
        for network, aux in named.items():
            params = self.chains[network]
            try:
                address_to_script(aux, params)
            except ValueError:
                return f"invalid {params.coin} address for {network}: {aux}"
        for network, aux in named.items():
            for attempt in range(2):  # a concurrent first authorize of the same miner may win the insert
                try:
                    with self.engine.begin() as conn:
                        known = AuxAddressRepository.get(conn, address, network)
                        if known is None:
                            AuxAddressRepository.set(conn, address, network, aux)
                    break
                except IntegrityError:
                    if attempt:
                        raise
            if known is not None and known != aux:
                coin = self.chains[network].coin
                return f"the {coin} payout address of {address} is {known}; the pool operator changes it"
        return None

    async def on_authorize(self, address: str, password: str) -> str | None:
        if not OPTION.search(password):
            return None
        return await asyncio.to_thread(self.bind, address, password)

    def set(self, address: str, network: str, aux: str) -> None:
        """The operator's change (`hashforge pool aux-address`): ValueError on a bad address."""
        address_to_script(aux, self.chains[network])
        with self.engine.begin() as conn:
            AuxAddressRepository.set(conn, address, network, aux)
