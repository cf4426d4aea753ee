"""The hiring team's side: who may review what, transcripts, and (to come) ratings."""
