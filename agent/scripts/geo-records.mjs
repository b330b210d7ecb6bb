// The records of geo.bin as build-geo.mjs makes them: each distinct
// (country, ASN, organisation, AS country) once, with the country codes and
// organisation names interned; record 0 is "nothing known" and covers every
// gap. Also the AS country by AS number, for addresses IPtoASN does not cover.
// Plain Node, no dependencies.

export class RecordTable {
  countries = [''];
  orgs = [''];
  asCountryFilled = 0;
  #countryIndex = new Map([['', 0]]);
  #orgIndex = new Map([['', 0]]);
  #country = [0];
  #asCountry = [0];
  #asn = [0];
  #org = [0];
  #index = new Map([['0,0,0,0', 0]]);
  /** (ASN * 256 + AS country) -> how often seen, over both families. */
  #seen = new Map();
  #countryOfAsn = new Map();

  get size() {
    return this.#asn.length;
  }

  /** 3 words per record: country | asCountry << 8, ASN, organisation (one cache line per lookup). */
  words() {
    return this.#asn.flatMap((asn, r) => [this.#country[r] | (this.#asCountry[r] << 8), asn, this.#org[r]]);
  }

  countryCode(value, where) {
    if (!/^[A-Z]{2}$/.test(value)) throw new Error(`${where}: not a country code: ${JSON.stringify(value)}`);
    const index = intern(this.#countryIndex, this.countries, value);
    if (index > 255) throw new Error('more than 255 country codes');
    return index;
  }

  record(country, asn, org, asCountry) {
    const key = `${country},${asn},${org},${asCountry}`;
    let index = this.#index.get(key);
    if (index === undefined) {
      index = this.#asn.length;
      this.#country.push(country);
      this.#asn.push(asn);
      this.#org.push(org);
      this.#asCountry.push(asCountry);
      this.#index.set(key, index);
    }
    return index;
  }

  /** `asn,organisation` of the asn CSV (the organisation may be quoted). */
  parseAsn(rest, where) {
    const comma = rest.indexOf(',');
    const asn = Number(rest.slice(0, comma));
    if (!Number.isInteger(asn) || asn <= 0 || asn > 0xffffffff) throw new Error(`${where}: bad ASN`);
    let org = rest.slice(comma + 1).replace(/\r$/, '');
    if (org.startsWith('"')) {
      if (!org.endsWith('"')) throw new Error(`${where}: unterminated quoted organisation`);
      org = org.slice(1, -1).replaceAll('""', '"');
    }
    if (org.includes('\n')) throw new Error(`${where}: newline in organisation`);
    return { asn, org: org === '' ? 0 : intern(this.#orgIndex, this.orgs, org) };
  }

  /** A range where the asn package says `asn` and IPtoASN says `asCountry`. */
  sawAsCountry(asn, asCountry) {
    const key = asn * 256 + asCountry;
    this.#seen.set(key, (this.#seen.get(key) ?? 0) + 1);
  }

  /**
   * IPtoASN gives the registry country of the AS announcing an address, so it
   * is a fact about the AS: where it does not cover an address that the asn
   * package puts in an AS (4.7% of the IPv4 space, among them Tencent Cloud
   * ranges abroad), the country IPtoASN gives that same AS elsewhere answers.
   * Of several (the two datasets disagree on a few announcements), the most
   * often seen; a tie answers nothing.
   */
  learnAsCountries() {
    const best = new Map();
    for (const [key, count] of this.#seen) {
      const asn = Math.floor(key / 256);
      const cc = key % 256;
      const b = best.get(asn);
      if (b === undefined || count > b.count) best.set(asn, { cc, count, tie: false });
      else if (count === b.count) b.tie = true;
    }
    for (const [asn, b] of best) if (!b.tie) this.#countryOfAsn.set(asn, b.cc);
  }

  /** A swept family ({ starts, recs }) with the AS country filled in by ASN where IPtoASN said nothing; equal neighbours merged again. */
  fillAsCountry(family, isV6) {
    const width = isV6 ? 4 : 1;
    const remap = new Map();
    const starts = [];
    const recs = [];
    for (let i = 0; i < family.recs.length; i++) {
      let rec = family.recs[i];
      if (rec !== 0 && this.#asCountry[rec] === 0 && this.#asn[rec] !== 0) {
        let to = remap.get(rec);
        if (to === undefined) {
          const cc = this.#countryOfAsn.get(this.#asn[rec]);
          to = cc === undefined ? rec : this.record(this.#country[rec], this.#asn[rec], this.#org[rec], cc);
          remap.set(rec, to);
        }
        if (to !== rec) this.asCountryFilled++;
        rec = to;
      }
      if (recs.length > 0 && recs[recs.length - 1] === rec) continue;
      for (let w = 0; w < width; w++) starts.push(family.starts[i * width + w]);
      recs.push(rec);
    }
    return { starts, recs };
  }
}

function intern(map, list, value) {
  let index = map.get(value);
  if (index === undefined) {
    index = list.length;
    list.push(value);
    map.set(value, index);
  }
  return index;
}
