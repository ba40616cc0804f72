"""User data is text: names, descriptions and JSON never become HTML or Markdown."""
from __future__ import annotations

import re

import streamlit as st

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$:])")


def plain(value) -> str:
    """Escape Markdown (and so any HTML) in a value shown through a Markdown-rendering element."""
    return _MARKDOWN.sub(r"\\\1", "" if value is None else str(value))


def show_error(error, prefix: str = "") -> None:
    """An error box whose text (which may quote user input or names) is shown literally."""
    st.error(plain(f"{prefix}{error}"))
