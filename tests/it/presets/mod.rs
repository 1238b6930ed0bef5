mod netlify;
