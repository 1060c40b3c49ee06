"""The reader's settings from `[assistance]`, and mailbox names on the wire."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from bot.clock import system_clock
from bot.config.assistance import AssistanceSettings
from bot.mailbox.folders import HANDLED_FOLDER, quoted_mailbox, utf7_imap
from bot.mailbox.model import DeskReply
from bot.mailbox.reader import MailboxReader
from bot.mailbox.settings import MailboxSettings, mailbox_settings

SECTION = AssistanceSettings(
    to="assistance@ac-exemple.fr",
    imap_host="imap.example.org",
    imap_port=993,
    imap_security="tls",
    imap_user="rupn-bot@college.example",
)


def test_no_reader_without_an_assistance_section() -> None:
    assert mailbox_settings(None, {}) is None


def test_the_contract_keys_and_the_password_from_the_environment() -> None:
    settings = mailbox_settings(SECTION, {"RUPN_IMAP_PASSWORD": "s3cret"})
    assert settings == MailboxSettings(
        host="imap.example.org", port=993, security="tls",
        user="rupn-bot@college.example", password="s3cret",
    )  # fmt: skip
    assert settings.handled_folder == HANDLED_FOLDER == "rupn-bot/traités"
    assert "s3cret" not in repr(settings)


def test_the_sections_own_password_folder_and_polling_period_win() -> None:
    section = SECTION.model_copy(
        update={
            "imap_password": SecretStr("from-config"),
            "imap_dossier_traites": "Traités",
            "imap_intervalle_s": 30,
        }
    )
    settings = mailbox_settings(section, {"RUPN_IMAP_PASSWORD": "from-env"})
    assert settings is not None
    assert (settings.password, settings.handled_folder, settings.poll_seconds) == (
        "from-config", "Traités", 30.0,
    )  # fmt: skip


def test_default_ports_follow_the_security() -> None:
    base = MailboxSettings(host="h", user="u", password="p")
    assert base.imap_port == 993
    assert MailboxSettings(host="h", user="u", password="p", security="starttls").imap_port == 143
    assert MailboxSettings(host="h", user="u", password="p", port=1993).imap_port == 1993


def test_mailbox_names_in_modified_utf7_with_the_servers_separator() -> None:
    assert utf7_imap("rupn-bot/traités") == "rupn-bot/trait&AOk-s"
    assert utf7_imap("R&D été") == "R&-D &AOk-t&AOk-"
    assert quoted_mailbox("rupn-bot/traités", ".") == '"rupn-bot.trait&AOk-s"'
    assert quoted_mailbox('a"b') == '"a\\"b"'


def test_plaintext_is_for_a_server_on_this_machine_only() -> None:
    def plain(host: str) -> MailboxSettings:
        return MailboxSettings(host=host, user="u", password="p", security="aucune")

    assert plain("127.0.0.1").password_protected
    assert plain("::1").password_protected
    assert plain("localhost").password_protected
    assert not plain("imap.example.org").password_protected
    assert not plain("192.0.2.10").password_protected
    assert MailboxSettings(host="imap.example.org", user="u", password="p").password_protected


async def test_the_reader_refuses_plaintext_to_a_remote_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = MailboxSettings(host="imap.example.org", user="u", password="p", security="aucune")
    stop = asyncio.Event()
    task = asyncio.create_task(MailboxReader(settings, RefusingSink(), system_clock).run(stop))
    await asyncio.sleep(0)  # it logs at once, and connects nowhere
    stop.set()
    await asyncio.wait_for(task, 5)
    assert "is for a server on this machine only, not imap.example.org" in caplog.text
    assert "unavailable" not in caplog.text


class RefusingSink:
    async def accept(self, reply: DeskReply) -> None:
        raise AssertionError("no mail can be read")
