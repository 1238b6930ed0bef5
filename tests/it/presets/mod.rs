mod digitalocean;
