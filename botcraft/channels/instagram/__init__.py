"""Instagram Direct through the Graph API: the channel and its webhook parser."""
