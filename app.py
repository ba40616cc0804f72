"""The dashboard's entry point: page registry only (no SQL, no figures here)."""
import streamlit as st

st.set_page_config(page_title="Hive: optimization results", layout="wide")
st.title("Hive: optimization results")
st.write("The dashboard pages arrive with the read layer. Use `hive-cli db info` to see what the store holds.")
