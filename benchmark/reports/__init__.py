"""Reports read stored results and never feed back into a run: leaderboards, the regression check, pictures."""
